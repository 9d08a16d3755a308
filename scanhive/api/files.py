"""The /file family: submit, fetch a report, cancel and webhook status."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from scanhive.analysis import verdict
from scanhive.analysis.ingest import Ingested, ingest
from scanhive.analysis.pipeline import conclude, final_record
from scanhive.analysis.report import Children, not_found, render
from scanhive.api import headers, reuse
from scanhive.api.auth import require_caller, runtime_of
from scanhive.api.batches import cancel_batch
from scanhive.api.multipart import FilePart, MultipartError
from scanhive.api.responses import ApiError, WireJSONResponse
from scanhive.api.rules import batch_rule, select_rule
from scanhive.config import RuleSettings
from scanhive.runtime import Runtime
from scanhive.store import batches, jobs
from scanhive.store import webhooks as webhook_store
from scanhive.store.accounts import Principal
from scanhive.timefmt import iso

router = APIRouter(tags=["analysis"])


def _valid_callback(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:
        return False


async def _receive(runtime: Runtime, request: Request) -> tuple[Ingested, str | None]:
    """Stream the body (raw or multipart `file` part) to the store; returns it and the part's filename."""
    content_type = request.headers.get("content-type", "")
    target = runtime.store.new_incoming()
    part: FilePart | None = None
    body: AsyncIterator[bytes] = request.stream()
    if content_type.lower().startswith("multipart/form-data"):
        try:
            part = FilePart(content_type)
        except MultipartError as exc:
            raise ApiError(400, str(exc)) from None
        body = part.stream(body)
    else:
        length = request.headers.get("content-length")
        if length is None or "chunked" in request.headers.get("transfer-encoding", "").lower():
            raise ApiError(411, "Missing Content-Length header.")
        if not length.strip().isdigit():
            raise ApiError(400, "Invalid Content-Length header.")
        if int(length) == 0:
            raise ApiError(422, "File is empty.")
    try:
        ingested = await ingest(body, target)
    except MultipartError as exc:
        target.unlink(missing_ok=True)
        raise ApiError(400, str(exc)) from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if ingested.size == 0:
        target.unlink(missing_ok=True)
        raise ApiError(422, "File is empty.")
    return ingested, part.filename if part else None


def _capacity(runtime: Runtime) -> int:
    """Refuse an upload when the queue is full or the disk nearly so; returns the jobs queued or running."""
    queued = jobs.pending_count(runtime.db)
    if queued >= runtime.settings.max_queue:
        raise ApiError(503, "Server is too busy. Try again later.")
    if runtime.store.free_bytes() < runtime.settings.min_free_disk_mb * 1024 * 1024:
        raise ApiError(400, "Not enough free disk space.")
    return queued


def _record(runtime: Runtime, rule: RuleSettings, upload: Ingested, job: dict[str, Any]) -> bool:
    """Store the upload and its job row: final at once (True) when an earlier result is reused, else queued.

    A reused upload shares the earlier upload's stored file, the same bytes, and its own is removed.
    """
    earlier = reuse.earlier_result(runtime, rule, upload, job)
    if earlier is None:
        jobs.insert(runtime.db, storage_key=runtime.store.commit(upload.path, job["data_id"]), **job)
        return False
    jobs.insert_finished(
        runtime.db,
        earlier.code,
        earlier.record,
        earlier.copies,
        extraction=earlier.extraction,
        storage_key=earlier.storage_key,
        **job,
    )
    upload.path.unlink()
    return True


@dataclass(frozen=True)
class _Admission:
    caller: Principal | None
    batch_id: str | None
    rule: RuleSettings
    callbackurl: str | None
    global_timeout: float | None
    queued: int  # jobs queued or running before this one


def _admit(runtime: Runtime, request: Request) -> _Admission:
    """Every check made before the body is read, in Core's order (run in one threadpool hop)."""
    caller = require_caller(request)
    batch_id = request.headers.get("batch")
    rule = batch_rule(runtime, batch_id) if batch_id else select_rule(runtime, request)
    callbackurl = headers.text(request, "callbackurl")
    if callbackurl is not None and not _valid_callback(callbackurl):
        raise ApiError(400, "Callback url is invalid.")
    global_timeout = headers.number(request, "global-timeout")
    return _Admission(caller, batch_id, rule, callbackurl, global_timeout, _capacity(runtime))


@router.post("/file")
async def submit(request: Request) -> WireJSONResponse:
    """Analyze a file: the body is the file (raw or multipart `file`); answers its data_id."""
    runtime = runtime_of(request)
    admitted = await run_in_threadpool(_admit, runtime, request)
    upload_ts = time.time()
    ingested, part_filename = await _receive(runtime, request)
    data_id = uuid.uuid4().hex
    job = {
        "data_id": data_id,
        "display_name": headers.text(request, "filename") or part_filename or "",
        "file_size": ingested.size,
        "md5": ingested.md5,
        "sha1": ingested.sha1,
        "sha256": ingested.sha256,
        "sha512": ingested.sha512,
        "rule": admitted.rule.name,
        "user_agent": request.headers.get("user_agent", ""),
        "username": admitted.caller.username if admitted.caller else "",
        "metadata": headers.text(request, "metadata"),
        "callbackurl": admitted.callbackurl,
        "archive_passwords": headers.archive_passwords(request),
        "global_timeout": admitted.global_timeout,
        "batch_id": admitted.batch_id,
        "hash_time": ingested.hash_time,
        "upload_ts": upload_ts,
    }
    # Storing the file, looking for a reusable result and the insert: one threadpool hop.
    reused = await run_in_threadpool(_record, runtime, admitted.rule, ingested, job)
    if not reused:
        runtime.notify()
    return WireJSONResponse(
        {
            "data_id": data_id,
            "in_queue": admitted.queued if reused else admitted.queued + 1,
            "queue_priority": "normal",
            "sha1": ingested.sha1,
            "sha256": ingested.sha256,
            "status": "inqueue",
        }
    )


def current_def_times(runtime: Runtime) -> dict[str, str]:
    """eng_id -> current def_time, to flag results scanned with older definitions."""
    return {eng_id: iso(s.def_time) for eng_id, s in runtime.engine_statuses().items() if s.def_time}


@router.get("/file/webhook/{data_id}")
def webhook_status(data_id: str, request: Request) -> WireJSONResponse:
    require_caller(request)
    delivery = webhook_store.get(runtime_of(request).db, data_id)
    if delivery is None:
        raise ApiError(404, "Not found")
    return WireJSONResponse(
        {
            "data_id": data_id,
            "request_time": iso(delivery["request_time"]) if delivery["request_time"] else "",
            "status_code": delivery["status_code"] or 0,
            "url": delivery["url"],
        }
    )


@router.get("/file/{data_id}")
def report(data_id: str, request: Request) -> WireJSONResponse:
    """The analysis report; unknown ids answer 200 {"<data_id>": "Not Found"} like Core."""
    require_caller(request)
    runtime = runtime_of(request)
    job = jobs.get(runtime.db, data_id)
    if job is None:
        return WireJSONResponse(not_found(data_id))
    return WireJSONResponse(render(job, current_def_times(runtime), archive_children(runtime, job, request)))


def archive_children(runtime: Runtime, job: Mapping[str, Any], request: Request) -> Children | None:
    """The page of extracted children asked for with ?first=&size= (for archives only)."""
    if job["extraction"] is None:
        return None
    first, size = headers.page_bounds(request)
    page, codes = jobs.children_page(runtime.db, job["data_id"], first, size)
    return Children(page, codes, first)


@router.post("/file/{data_id}/cancel")
def cancel(data_id: str, request: Request) -> WireJSONResponse:
    require_caller(request)
    runtime = runtime_of(request)
    job = jobs.get(runtime.db, data_id)
    if job is None and batches.get(runtime.db, data_id) is not None:
        cancel_batch(runtime, data_id)  # the v4.18 spec's POST /file/{batchId}/cancel
        return WireJSONResponse({})
    if job is None:
        raise ApiError(404, "Not found")
    record = final_record(verdict.CANCELLED, runtime.settings.rule(job["rule"]))
    if not jobs.cancel(runtime.db, data_id, record, verdict.CANCELLED, partial(conclude, runtime.settings)):
        raise ApiError(400, "Processing of this file has already finished.")
    return WireJSONResponse({data_id: "cancelled"})
