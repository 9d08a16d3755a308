"""Reading MetaDefender requests: headers (URL-encoded or raw UTF-8 text, flags, numbers) and paging."""

from __future__ import annotations

from urllib.parse import unquote

from fastapi import Request

from scanhive.analysis.report import PAGE_SIZE
from scanhive.api.responses import ApiError

_TRUE = {"1", "true", "yes", "on"}


def text(request: Request, name: str) -> str | None:
    """A header as text: raw UTF-8 bytes are recovered (HTTP hands them over as latin-1), then URL-decoded."""
    raw = request.headers.get(name)
    if raw is None:
        return None
    try:
        raw = raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return unquote(raw)


def flag(request: Request, name: str) -> bool:
    return (request.headers.get(name) or "").strip().lower() in _TRUE


def number(request: Request, name: str) -> float | None:
    """A numeric header, or None when absent; 400 when it is not a non-negative number."""
    raw = request.headers.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, f"Invalid {name} header") from None
    if value < 0 or value != value:
        raise ApiError(400, f"Invalid {name} header")
    return value


def archive_passwords(request: Request) -> list[str]:
    """archivepwd, then archivepwd1, archivepwd2, ... in number order."""
    numbered: list[tuple[int, str]] = []
    for key in request.headers:
        suffix = key[len("archivepwd"):] if key.startswith("archivepwd") else None
        if suffix == "":
            numbered.append((0, text(request, key) or ""))
        elif suffix and suffix.isdigit() and int(suffix) >= 1:
            numbered.append((int(suffix), text(request, key) or ""))
    return [password for _, password in sorted(numbered)]


def page_bounds(request: Request) -> tuple[int, int]:
    """?first=&size= (defaults 0 and 50); 400 for anything that is not a non-negative integer."""
    try:
        first = int(request.query_params.get("first", 0))
        size = int(request.query_params.get("size", PAGE_SIZE))
    except ValueError:
        raise ApiError(400, "Invalid first or size") from None
    if first < 0 or size < 0:
        raise ApiError(400, "Invalid first or size")
    return first, size
