"""POST /login, POST /logout and the apikey checks other routes use."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request

from scanhive.api.responses import ApiError, WireJSONResponse
from scanhive.runtime import Runtime
from scanhive.store import accounts
from scanhive.store.accounts import Principal

router = APIRouter(tags=["auth"])


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def principal(request: Request) -> Principal | None:
    """Who the apikey header names: a live session or a configured key; None without a valid one."""
    apikey = request.headers.get("apikey")
    if not apikey:
        return None
    runtime = runtime_of(request)
    if apikey in runtime.settings.apikeys:
        return Principal("apikey", is_admin=False)
    return accounts.session_principal(runtime.db, apikey)


def require_caller(request: Request) -> Principal | None:
    """For scanning and results: open by default as in Core; an apikey when configured so."""
    caller = principal(request)
    if caller is None and runtime_of(request).settings.require_apikey:
        raise ApiError(403, "Access denied")
    return caller


def require_admin(request: Request) -> Principal:
    caller = principal(request)
    if caller is None or not caller.is_admin:
        raise ApiError(403, "Access denied")
    return caller


@router.post("/login")
async def login(request: Request) -> WireJSONResponse:
    """Body {"user", "password"}; read as JSON whatever the Content-Type says."""
    try:
        body = json.loads(await request.body() or b"{}")
        user, password = str(body["user"]), str(body["password"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(403, "Failed to login") from None
    runtime = runtime_of(request)
    session = accounts.login(runtime.db, user, password, runtime.settings.session_timeout)
    if session is None:
        raise ApiError(403, "Failed to login")
    session_id, csrf = session
    return WireJSONResponse({"oms-csrf-token": csrf, "session_id": session_id})


@router.post("/logout")
async def logout(request: Request) -> WireJSONResponse:
    apikey = request.headers.get("apikey")
    if not apikey:
        raise ApiError(400, "Logout error")
    if not accounts.logout(runtime_of(request).db, apikey):
        raise ApiError(403, "Access denied")
    return WireJSONResponse({"response": "Logout success"})
