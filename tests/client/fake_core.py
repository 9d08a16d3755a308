"""FakeCore: a test peer that answers like MetaDefender Core, for the client's tests only.

It is NOT ScanHive and shares no code with it. It stands in for a server while the client's own
behaviour is tested: the wire shapes it depends on (reports, `{"<id>": "Not Found"}`, POST /hash,
batches, 411 without Content-Length) and failures a real server rarely produces on demand (503
then 200, 429 with Retry-After, 401). Tests against the real ScanHive server live elsewhere.

Verdicts: a body containing INFECTED_MARKER is Infected and Blocked, one containing FAILED_MARKER
is Failed, anything else is No Threat Detected. Each report answers "Processing" for
`polls_before_done` fetches before the final one.
"""

from __future__ import annotations

import hashlib
import itertools
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

INFECTED_MARKER = b"FAKE-MALWARE-SIGNATURE"
FAILED_MARKER = b"FAKE-SCAN-FAILS"


@dataclass
class SeenRequest:
    """A request as the peer saw it."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class SeenUpload:
    """How a POST /file body arrived."""

    headers: dict[str, str]
    size: int
    chunks: int


@dataclass
class Job:
    """One uploaded file and its (instant) analysis."""

    data_id: str
    name: str
    size: int
    md5: str
    sha1: str
    sha256: str
    code: int
    batch: str | None
    polls_left: int


@dataclass
class FakeCore:
    """The peer's state; tests read what it saw and queue failures with fail_next() or answer_next()."""

    polls_before_done: int = 1
    bulk_hash: bool = True
    apikey: str | None = None
    requests: list[SeenRequest] = field(default_factory=list)
    uploads: list[SeenUpload] = field(default_factory=list)
    jobs: dict[str, Job] = field(default_factory=dict)
    batches: dict[str, bool] = field(default_factory=dict)
    answers: deque[Response] = field(default_factory=deque)
    ids: Iterator[int] = field(default_factory=itertools.count)

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next `times` requests with `status` and a MetaDefender error body."""
        message = {503: "Server is too busy. Try again later.", 429: "Too many requests",
                   401: "Invalid apikey", 403: "Access denied"}.get(status, "Unexpected event on server")
        for _ in range(times):
            self.answers.append(JSONResponse({"err": message}, status, headers=headers))

    def answer_next(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """Answer the next request with this raw response."""
        self.answers.append(Response(body, status, headers=headers))

    def seen(self, method: str, path: str) -> list[SeenRequest]:
        """The requests with this method and path."""
        return [request for request in self.requests if request.method == method and request.path == path]

    def app(self) -> ASGIApp:
        """The ASGI app: Core's routes, also under /v4 as MetaDefender Cloud has them."""
        routes = [
            Route("/file", self._submit, methods=["POST"]),
            Route("/file/batch", self._create_batch, methods=["POST"]),
            Route("/file/batch/{batch_id}/close", self._close_batch, methods=["POST"]),
            Route("/file/batch/{batch_id}", self._batch_status, methods=["GET"]),
            Route("/file/converted/{data_id}", self._converted, methods=["GET"]),
            Route("/file/{data_id}", self._report, methods=["GET"]),
            Route("/hash", self._bulk_hash, methods=["POST"]),
            Route("/hash/{hash}", self._hash, methods=["GET"]),
            Route("/stat/engines", self._engines, methods=["GET"]),
        ]
        return self._guard(Starlette(routes=[*routes, Mount("/v4", routes=routes)]))

    def _guard(self, app: ASGIApp) -> ASGIApp:
        """Record every request, then give queued answers and refuse wrong apikeys before the routes."""

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                return await app(scope, receive, send)
            headers = {key.decode().lower(): value.decode() for key, value in scope["headers"]}
            self.requests.append(SeenRequest(scope["method"], scope["path"], headers))
            if self.answers:
                return await self.answers.popleft()(scope, receive, send)
            if self.apikey is not None and headers.get("apikey") != self.apikey:
                return await JSONResponse({"err": "Invalid apikey"}, 401)(scope, receive, send)
            return await app(scope, receive, send)

        return guarded

    async def _submit(self, request: Request) -> Response:
        if "content-length" not in request.headers:
            return JSONResponse({"err": "Content-Length header is missing from the request."}, 411)
        digests = [hashlib.md5(), hashlib.sha1(), hashlib.sha256()]
        size = chunks = 0
        tail = b""
        infected = failed = False
        async for chunk in request.stream():
            if not chunk:
                continue
            chunks += 1
            size += len(chunk)
            for digest in digests:
                digest.update(chunk)
            window = tail + chunk
            infected |= INFECTED_MARKER in window
            failed |= FAILED_MARKER in window
            tail = window[-len(INFECTED_MARKER):]
        self.uploads.append(SeenUpload(dict(request.headers), size, chunks))
        if size == 0:
            return JSONResponse({"err": "Body input is empty."}, 422)
        data_id = f"{next(self.ids):032x}"
        batch = request.headers.get("batch")
        if batch is not None:
            if batch not in self.batches or self.batches[batch]:
                return JSONResponse({"err": "Batch not found or closed"}, 400)
        md5, sha1, sha256 = (digest.hexdigest() for digest in digests)
        self.jobs[data_id] = Job(
            data_id, unquote(request.headers.get("filename", data_id)), size, md5, sha1, sha256,
            3 if failed else 1 if infected else 0, batch, self.polls_before_done,
        )
        return JSONResponse({"data_id": data_id})

    async def _report(self, request: Request) -> Response:
        data_id = request.path_params["data_id"]
        job = self.jobs.get(data_id)
        if job is None:
            return JSONResponse({data_id: "Not Found"})
        done = job.polls_left <= 0
        job.polls_left -= 1
        return JSONResponse(_report(job, done))

    async def _hash(self, request: Request) -> Response:
        hash_ = request.path_params["hash"]
        job = self._by_hash(hash_)
        return JSONResponse(_report(job, True) if job else {hash_: "Not Found"})

    async def _bulk_hash(self, request: Request) -> Response:
        if not self.bulk_hash:
            return JSONResponse({"err": "Not Found"}, 404)
        hashes = (await request.json()).get("hash") or []
        if not hashes:
            return JSONResponse({"err": "The `hash` field is empty"}, 400)
        if len(hashes) > 1000:
            return JSONResponse({"err": "At most 1000 hashes per request"}, 400)
        details = request.headers.get("includescandetails") == "1"
        data = []
        for hash_ in hashes:
            job = self._by_hash(hash_)
            if job is None:
                data.append({"data_id": None, "hash": hash_, "scan_result_i": 5, "total_detected_avs": -1})
                continue
            item = {"data_id": job.data_id, "scan_result_i": job.code, "hash": hash_,
                    "total_detected_avs": 1 if job.code == 1 else 0}
            if details:
                item["scan_details"] = _engines(job)
            data.append(item)
        return JSONResponse({"data": data})

    async def _create_batch(self, request: Request) -> Response:
        batch_id = f"batch{next(self.ids)}"
        self.batches[batch_id] = False
        return JSONResponse({"batch_id": batch_id})

    async def _close_batch(self, request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        if batch_id not in self.batches:
            return JSONResponse({"err": "Requests resource was not found."}, 404)
        self.batches[batch_id] = True
        return JSONResponse(self._batch(batch_id))

    async def _batch_status(self, request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        if batch_id not in self.batches:
            return JSONResponse({"err": "Requests resource was not found."}, 404)
        return JSONResponse(self._batch(batch_id))

    async def _converted(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["data_id"])
        if job is None:
            return JSONResponse({"err": "Requests resource was not found."}, 404)

        async def body() -> Any:
            for part in (b"sanitized ", job.name.encode(), b" " + job.sha256.encode()):
                yield part

        return StreamingResponse(body(), media_type="application/octet-stream")

    async def _engines(self, request: Request) -> Response:
        return JSONResponse([
            {"active": True, "def_time": "2024-01-01T00:00:00.000Z", "eng_id": "clamav_1_linux", "eng_name": "ClamAV",
             "eng_ver": "1.0", "engine_type": "av", "state": "production", "type": "engine"},
            {"active": True, "def_time": "", "eng_id": "yara_1_linux", "eng_name": "YARA",
             "eng_ver": "4.5", "engine_type": "av", "state": "production", "type": "engine"},
        ])

    def _by_hash(self, hash_: str) -> Job | None:
        """The latest job whose md5, sha1 or sha256 is `hash_`."""
        hash_ = hash_.lower()
        matches = [job for job in self.jobs.values() if hash_ in (job.md5, job.sha1, job.sha256)]
        return matches[-1] if matches else None

    def _batch(self, batch_id: str) -> dict[str, Any]:
        """A batch status report."""
        jobs = [job for job in self.jobs.values() if job.batch == batch_id]
        code = max((job.code for job in jobs), default=0)
        return {
            "batch_id": batch_id,
            "is_closed": self.batches[batch_id],
            "batch_files": {"batch_count": len(jobs), "files_in_batch": [
                {"data_id": job.data_id, "display_name": job.name, "scan_all_result_i": job.code} for job in jobs]},
            "process_info": {"result": "Blocked" if code == 1 else "Allowed", "blocked_reason": ""},
            "scan_results": {"batch_id": batch_id, "scan_all_result_i": code,
                             "scan_all_result_a": _NAMES[code]},
        }


_NAMES = {0: "No Threat Detected", 1: "Infected", 3: "Failed", 255: "In Progress"}


def _engines(job: Job) -> dict[str, Any]:
    """scan_details for a finished job."""
    clamav = {0: (0, ""), 1: (1, "Fake.Malware.Test"), 3: (3, "")}[job.code]
    return {
        "ClamAV": {"def_time": "2024-01-01T00:00:00.000Z", "location": "local", "scan_result_i": clamav[0],
                   "scan_time": 3, "threat_found": clamav[1], "wait_time": 1},
        "YARA": {"def_time": "2024-01-01T00:00:00.000Z", "location": "local", "scan_result_i": 0,
                 "scan_time": 1, "threat_found": "", "wait_time": 1},
    }


def _report(job: Job, done: bool) -> dict[str, Any]:
    """GET /file/{data_id} as Core renders it, in progress or final."""
    code = job.code if done else 255
    result = "Processing" if not done else "Blocked" if job.code in (1, 3) else "Allowed"
    progress = 100 if done else 50
    return {
        "data_id": job.data_id,
        "file_info": {"display_name": job.name, "file_size": job.size, "file_type": "application/octet-stream",
                      "file_type_description": "data", "md5": job.md5, "sha1": job.sha1, "sha256": job.sha256,
                      "upload_timestamp": "2024-01-01T00:00:00.000Z"},
        "process_info": {"blocked_reason": "Infected" if done and job.code == 1 else "",
                         "file_type_skipped_scan": False, "profile": "File Scan", "progress_percentage": progress,
                         "result": result, "user_agent": "",
                         "post_processing": {"actions_failed": "", "actions_ran": "", "converted_destination": "",
                                             "converted_to": "", "copy_move_destination": ""}},
        "scan_results": {"data_id": job.data_id, "progress_percentage": progress, "scan_all_result_a": _NAMES[code],
                         "scan_all_result_i": code, "scan_details": _engines(job) if done else {},
                         "start_time": "2024-01-01T00:00:00.000Z", "total_avs": 2 if done else 0,
                         "total_time": 4 if done else -1},
    }


@contextmanager
def serve(core: FakeCore) -> Iterator[str]:
    """Run the peer with uvicorn in a thread on a free 127.0.0.1 port; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(core.app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake Core did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
