"""Hash lookups: GET /hash/{hash} (Core) and bulk POST /hash (Cloud v4, seed 004)."""

from __future__ import annotations

import json
import string
import time

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from scanhive.analysis import verdict
from scanhive.analysis.report import detections, not_found, render, scan_details
from scanhive.api import headers
from scanhive.api.auth import require_caller, runtime_of
from scanhive.api.files import archive_children, current_def_times
from scanhive.api.responses import ApiError, WireJSONResponse
from scanhive.runtime import Runtime
from scanhive.store import jobs

router = APIRouter(tags=["hash"])
MAX_BULK = 1000
_HEX = set(string.hexdigits)


def is_hash(value: str) -> bool:
    """md5, sha1, sha256 or sha512 in hex."""
    return len(value) in jobs.HASH_COLUMNS and set(value) <= _HEX


def _bulk_error(status: int, code: int, message: str) -> WireJSONResponse:
    return WireJSONResponse({"error": {"code": code, "messages": [message]}}, status_code=status)


@router.get("/hash/{digest}")
def lookup(digest: str, request: Request) -> WireJSONResponse:
    """The latest result for a hash; headers rule, selfonly, timerange (hours), include-inprogress."""
    require_caller(request)
    if not is_hash(digest):
        raise ApiError(404, "Invalid hash format")
    runtime = runtime_of(request)
    hours = headers.number(request, "timerange")
    job = jobs.latest_by_hash(
        runtime.db,
        digest,
        rule=headers.text(request, "rule"),
        self_only=headers.flag(request, "selfonly"),
        since_ts=time.time() - hours * 3600 if hours else None,
        include_in_progress=headers.flag(request, "include-inprogress"),
    )
    if job is None:
        return WireJSONResponse(not_found(digest))
    return WireJSONResponse(render(job, current_def_times(runtime), archive_children(runtime, job, request)))


@router.post("/hash")
async def bulk_lookup(request: Request) -> WireJSONResponse:
    """Body {"hash": [...]} (at most 1000); header includescandetails: 1 adds scan_details."""
    await run_in_threadpool(require_caller, request)
    try:
        body = json.loads(await request.body() or b"{}")
        wanted = body.get("hash") if isinstance(body, dict) else None
    except ValueError:
        return _bulk_error(400, 400061, "The body is not valid JSON")
    if not wanted or not isinstance(wanted, list):
        return _bulk_error(400, 400062, "The `hash` field is empty")
    if len(wanted) > MAX_BULK:
        return _bulk_error(400, 400063, f"Too many hashes: at most {MAX_BULK} per request")
    digests = [str(h) for h in wanted]
    # The query, decoding the stored results and encoding the answer take tens of milliseconds
    # for 1000 hashes: off the event loop, so other requests are served meanwhile.
    return await run_in_threadpool(_bulk_answer, runtime_of(request), digests, headers.flag(request, "includescandetails"))


def _bulk_answer(runtime: Runtime, digests: list[str], with_details: bool) -> WireJSONResponse:
    """The bulk answer: one entry per asked hash, in order."""
    found = jobs.latest_by_hashes(runtime.db, [d for d in digests if is_hash(d)], with_engines=with_details)
    data = []
    for digest in digests:
        job = found.get(digest.lower())  # only well-formed hashes were looked up
        if job is None:
            data.append({"data_id": None, "hash": digest, "scan_result_i": verdict.HASH_NOT_FOUND, "total_detected_avs": -1})
            continue
        record = {"engines": job["engines"] or {}}  # read when details are asked or the count is missing
        counted = job["total_detected_avs"]
        entry = {
            "data_id": job["data_id"],
            "hash": digest,
            "scan_result_i": job["scan_all_result_i"],
            "total_detected_avs": detections(record) if counted is None else counted,
        }
        if with_details:  # built only when asked: a dict per engine for up to 1000 hashes
            entry["scan_details"] = scan_details(record)
        data.append(entry)
    return WireJSONResponse({"data": data})
