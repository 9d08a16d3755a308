"""Administration (admin apikey): engine switches, skip/allow/block lists and YARA sources."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import APIRouter, Request

from scanhive.api.auth import require_admin, runtime_of
from scanhive.api.hashes import is_hash
from scanhive.api.responses import ApiError, WireJSONResponse
from scanhive.engines import yara_sources
from scanhive.store import engine_switches, hash_lists

router = APIRouter(tags=["admin"])

_ACTIONS = {
    "enable": ({"enabled": True}, "Engine is enabled"),
    "disable": ({"enabled": False}, "Engine is disabled"),
    "pin": ({"pinned": True}, "Engine is pinned"),
    "unpin": ({"pinned": False}, "Engine is unpinned"),
}


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        raise ApiError(400, "The body is not valid JSON") from None


@router.post("/admin/engine/{eng_id}/{action}")
def engine_action(eng_id: str, action: str, request: Request) -> WireJSONResponse:
    """enable | disable | pin | unpin an engine; the switch persists across restarts."""
    require_admin(request)
    runtime = runtime_of(request)
    if action not in _ACTIONS:
        raise ApiError(404, "Not found")
    if eng_id not in {e.eng_id for e in runtime.engines}:
        raise ApiError(404, "Engine not found")
    values, message = _ACTIONS[action]
    engine_switches.set_switch(runtime.db, eng_id, **values)
    return WireJSONResponse({"result": message})


@router.get("/admin/config/skip")
def skip_lists(request: Request) -> WireJSONResponse:
    require_admin(request)
    return WireJSONResponse(hash_lists.as_config(runtime_of(request).db))


@router.put("/admin/config/skip")
async def replace_skip_lists(request: Request) -> WireJSONResponse:
    """Replace the blacklist/whitelist/skip hash lists with the body's."""
    require_admin(request)
    body = await _json_body(request)
    if not isinstance(body, dict) or set(body) - set(hash_lists.LISTS):
        raise ApiError(400, f"Expected an object with {', '.join(hash_lists.LISTS)}")
    for name, entries in body.items():
        if not isinstance(entries, dict) or not all(is_hash(h) and isinstance(e, dict) for h, e in entries.items()):
            raise ApiError(400, f"{name}: expected {{hash: {{\"comment\": ...}}}} with md5/sha1/sha256/sha512 hashes")
    runtime = runtime_of(request)
    hash_lists.replace_all(runtime.db, body)
    return WireJSONResponse(hash_lists.as_config(runtime.db))


def _yara_sources_answer(request: Request) -> WireJSONResponse:
    return WireJSONResponse(yara_sources.load_sources(runtime_of(request).settings.data_dir))


@router.get("/admin/config/yara/sources")
def yara_source_list(request: Request) -> WireJSONResponse:
    require_admin(request)
    return _yara_sources_answer(request)


@router.put("/admin/config/yara/sources")
async def replace_yara_sources(request: Request) -> WireJSONResponse:
    """Replace the YARA sources; HTTP packages are fetched now; workers recompile on their next file."""
    require_admin(request)
    body = await _json_body(request)
    sources: dict[str, list[dict[str, str]]] = {"local_sources": [], "http_sources": []}
    if not isinstance(body, dict):
        raise ApiError(400, "Expected an object with local_sources and http_sources")
    for kind in sources:
        for entry in body.get(kind, []):
            if not isinstance(entry, dict) or not isinstance(entry.get("source"), str):
                raise ApiError(400, f"{kind}: each entry needs a source")
            state = entry.get("state", yara_sources.ENABLED)
            if state not in (yara_sources.ENABLED, yara_sources.DISABLED):
                raise ApiError(400, f"{kind}: state must be enabled or disabled")
            sources[kind].append({"source": entry["source"], "state": state})
    data_dir = runtime_of(request).settings.data_dir
    for entry in sources["http_sources"]:
        if entry["state"] == yara_sources.ENABLED:
            try:
                yara_sources.download(data_dir, entry["source"])
            except (httpx.HTTPError, ValueError, OSError) as exc:
                raise ApiError(400, f"Cannot fetch {entry['source']}: {exc}") from None
    yara_sources.save_sources(data_dir, sources)
    return _yara_sources_answer(request)


@router.get("/yara/package")
def yara_package(request: Request) -> WireJSONResponse:
    """Whether the current sources compile: issues per source that does not (it is left out)."""
    require_admin(request)
    settings = runtime_of(request).settings
    compiled = yara_sources.compile_sources(settings.data_dir, settings.yara.rule_dirs)
    issues: dict[str, list[dict[str, str]]] = {"general": []}
    for source, messages in compiled.issues.items():
        issues[source] = [{"message": m, "severity": "error"} for m in messages]
    status = "error" if compiled.issues else "idle"
    return WireJSONResponse({"issues": issues, "start_time": "", "status": status})
