"""The /file/batch family (seed 003): create, add files (POST /file + batch header), close,
status, cancel and the signed certificate."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import Response

from scanhive.analysis import verdict
from scanhive.analysis.pipeline import conclude, final_record
from scanhive.analysis.report import PAGE_SIZE, render_batch
from scanhive.api import headers
from scanhive.api.auth import require_caller, runtime_of
from scanhive.api.rules import select_rule
from scanhive.api.responses import ApiError, WireJSONResponse
from scanhive.runtime import Runtime
from scanhive.store import batches, jobs

router = APIRouter(tags=["batch"])
MAX_USER_DATA = 1024


def _existing(runtime: Runtime, batch_id: str) -> dict:
    batch = batches.get(runtime.db, batch_id)
    if batch is None:
        raise ApiError(404, "Batch not found")
    return dict(batch)


def _report(runtime: Runtime, batch: dict, first: int = 0, size: int = PAGE_SIZE) -> dict:
    codes, started, ended = batches.summary(runtime.db, batch["batch_id"])
    _, page = batches.files(runtime.db, batch["batch_id"], first, size)
    rule = runtime.settings.rule(batch["rule"])
    return render_batch(batch, codes, started, ended, list(page), first, rule.allow_results if rule else [])


@router.post("/file/batch")
def create(request: Request) -> WireJSONResponse:
    caller = require_caller(request)
    runtime = runtime_of(request)
    rule = select_rule(runtime, request)
    user_data = headers.text(request, "user-data") or ""
    if len(user_data.encode()) > MAX_USER_DATA:
        raise ApiError(400, f"user-data is longer than {MAX_USER_DATA} bytes")
    batch_id = batches.create(
        runtime.db, rule.name, request.headers.get("user_agent", ""), caller.username if caller else "", user_data
    )
    return WireJSONResponse({"batch_id": batch_id})


@router.post("/file/batch/{batch_id}/close")
def close(batch_id: str, request: Request) -> WireJSONResponse:
    require_caller(request)
    runtime = runtime_of(request)
    _existing(runtime, batch_id)
    batches.close(runtime.db, batch_id)
    return WireJSONResponse(_report(runtime, _existing(runtime, batch_id)))


@router.get("/file/batch/{batch_id}")
def status(batch_id: str, request: Request) -> WireJSONResponse:
    require_caller(request)
    runtime = runtime_of(request)
    first, size = headers.page_bounds(request)
    return WireJSONResponse(_report(runtime, _existing(runtime, batch_id), first, size))


def cancel_batch(runtime: Runtime, batch_id: str) -> None:
    """Cancel what is still running in a batch, and close it."""
    batch = _existing(runtime, batch_id)
    record = final_record(verdict.CANCELLED, runtime.settings.rule(batch["rule"]))
    for data_id in batches.unfinished(runtime.db, batch_id):
        jobs.cancel(runtime.db, data_id, record, verdict.CANCELLED, partial(conclude, runtime.settings))
    batches.close(runtime.db, batch_id)


@router.post("/file/batch/{batch_id}/cancel")
def cancel(batch_id: str, request: Request) -> WireJSONResponse:
    require_caller(request)
    cancel_batch(runtime_of(request), batch_id)
    return WireJSONResponse({})


@router.get("/file/batch/{batch_id}/certificate")
def certificate(batch_id: str, request: Request) -> Response:
    """The whole batch report (every file, not a page) as YAML signed by ScanHive's key."""
    require_caller(request)
    runtime = runtime_of(request)
    batch = _existing(runtime, batch_id)
    total, _ = batches.files(runtime.db, batch_id, 0, 0)
    document = runtime.signer.sign(_report(runtime, batch, 0, total))
    return Response(document, media_type="application/x-yaml")
