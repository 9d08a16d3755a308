"""Response helpers: MetaDefender's compact JSON and its {"err": ...} error bodies."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from scanhive.analysis.report import compact_json


class WireJSONResponse(JSONResponse):
    """Compact JSON with sorted keys and Content-Type application/json."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return compact_json(content)


class ApiError(Exception):
    """Raised by handlers to answer `status` with {"err": message}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error(status: int, message: str) -> WireJSONResponse:
    return WireJSONResponse({"err": message}, status_code=status)
