"""The Core API application: routers plus MetaDefender-style error handling."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

import scanhive
from scanhive.api import admin, auth, batches, files, hashes, rules, stats
from scanhive.api.responses import ApiError, WireJSONResponse, error
from scanhive.runtime import Runtime

log = logging.getLogger(__name__)


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="ScanHive Core API",
        version=scanhive.__version__,
        description="MetaDefender Core v4 compatible file analysis API.",
        default_response_class=WireJSONResponse,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    for module in (admin, auth, batches, rules, files, hashes, stats):
        app.include_router(module.router)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> WireJSONResponse:
        return error(exc.status, exc.message)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> WireJSONResponse:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> WireJSONResponse:
        return error(400, "Bad Request")

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> WireJSONResponse:
        log.exception("unexpected error")
        return error(500, "Unexpected event on server")

    return app
