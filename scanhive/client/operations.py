"""Every client operation, written once for Client and AsyncClient.

An operation is a generator that yields the HTTP calls and pauses it needs and receives each
call's response (the "sans-I/O" style): Client runs it with blocking I/O and AsyncClient with
`await`, so retries, polling, chunking and parsing exist in one place.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from scanhive.client import wire
from scanhive.client.errors import NotFound, RateLimited, ScanTimeout, ServerBusy
from scanhive.client.models import BatchStatus, EngineInfo, HashResult, ScanReport, Submission
from scanhive.client.upload import Source, Upload

T = TypeVar("T")
R = TypeVar("R", ScanReport, BatchStatus)

#: Most hashes POST /hash accepts in one request.
BULK_LIMIT = 1000
#: Result polling: first pause, growth factor and longest pause, in seconds.
POLL_FIRST, POLL_GROWTH, POLL_MAX = 0.1, 1.5, 1.5


@dataclass
class Call:
    """One HTTP request; with `save_to`, a 200 answer's body is streamed into that file."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    upload: Upload | None = None
    save_to: Path | None = None


@dataclass
class Sleep:
    """A pause between retries or polls."""

    seconds: float


Step = Call | Sleep
#: An operation: yields steps, receives the response of each Call (None after a Sleep), returns T.
Operation = Generator[Step, "httpx.Response | None", T]


class Operations:
    """Builds the operations for one server: its URL, dialect, apikey and retry policy."""

    def __init__(self, base_url: str, apikey: str | None, retries: int, backoff: float) -> None:
        self.base_url = base_url
        self.apikey = apikey
        self.retries = retries
        self.backoff = backoff

    def submit(
        self,
        source: Source,
        *,
        filename: str | None,
        rule: str | None,
        archive_passwords: Sequence[str],
        batch: str | None,
        size: int | None,
        progress: Callable[[int], None] | None,
    ) -> Operation[Submission]:
        """POST /file with the file streamed as the raw body."""
        upload = Upload(source, size, progress)
        headers = wire.submit_headers(filename or upload.name, rule, archive_passwords, batch)
        headers["content-length"] = str(upload.length)
        body = yield from self._json(Call("POST", self._url("/file"), headers, upload=upload))
        return Submission.from_json(body)

    def result(self, data_id: str) -> Operation[ScanReport]:
        """GET /file/{data_id}."""
        body = yield from self._json(Call("GET", self._url(f"/file/{data_id}")), f"data_id {data_id}")
        if wire.is_not_found(body):
            raise NotFound(f"data_id {data_id}", status=200)
        return ScanReport.from_json(body)

    def wait(self, data_id: str, timeout: float) -> Operation[ScanReport]:
        """Poll GET /file/{data_id} with growing pauses until the analysis is done."""
        return self._poll(lambda: self.result(data_id), timeout, f"data_id {data_id}")

    def scan(self, source: Source, *, timeout: float, **options: Any) -> Operation[ScanReport]:
        """Submit, then wait for the final report."""
        submission = yield from self.submit(source, **options)
        return (yield from self.wait(submission.data_id, timeout))

    def lookup(self, hash_: str) -> Operation[ScanReport | None]:
        """GET /hash/{hash}; None when the server does not know the hash."""
        response = yield from self._send(Call("GET", self._url(f"/hash/{hash_}")))
        if response.status_code == 404:  # MetaDefender Cloud's answer for an unknown hash
            return None
        wire.check(response, f"hash {hash_}")
        body = wire.json_body(response)
        return None if wire.is_not_found(body) else ScanReport.from_json(body)

    def lookup_many(self, hashes: Iterable[str], details: bool) -> Operation[list[HashResult]]:
        """POST /hash in chunks of BULK_LIMIT; one GET /hash each where the server has no bulk endpoint."""
        hashes = list(hashes)
        results: list[HashResult] = []
        bulk = True
        for start in range(0, len(hashes), BULK_LIMIT):
            chunk = hashes[start : start + BULK_LIMIT]
            if bulk:
                headers = {"includescandetails": "1" if details else "0"}
                call = Call("POST", self._url("/hash"), headers, json={"hash": chunk})
                response = yield from self._send(call)
                bulk = response.status_code not in (404, 405)
                if bulk:
                    wire.check(response)
                    results.extend(HashResult.from_json(item) for item in wire.json_body(response)["data"])
                    continue
            for hash_ in chunk:
                report = yield from self.lookup(hash_)
                results.append(HashResult.from_report(hash_, report, details))
        return results

    def create_batch(self, rule: str | None, user_data: str | None) -> Operation[str]:
        """POST /file/batch; returns the batch_id."""
        headers = {"rule": wire.encode(rule)} if rule else {}
        if user_data:
            headers["user-data"] = wire.encode(user_data)
        body = yield from self._json(Call("POST", self._url("/file/batch"), headers))
        return body["batch_id"]

    def close_batch(self, batch_id: str) -> Operation[BatchStatus]:
        """POST /file/batch/{batch_id}/close."""
        body = yield from self._json(Call("POST", self._url(f"/file/batch/{batch_id}/close")), f"batch {batch_id}")
        return BatchStatus.from_json(body)

    def batch_status(self, batch_id: str) -> Operation[BatchStatus]:
        """GET /file/batch/{batch_id}."""
        body = yield from self._json(Call("GET", self._url(f"/file/batch/{batch_id}")), f"batch {batch_id}")
        return BatchStatus.from_json(body)

    def wait_batch(self, batch_id: str, timeout: float) -> Operation[BatchStatus]:
        """Poll GET /file/batch/{batch_id} until the closed batch has finished."""
        return self._poll(lambda: self.batch_status(batch_id), timeout, f"batch {batch_id}")

    def download_sanitized(self, data_id: str, dest: Path) -> Operation[Path]:
        """GET /file/converted/{data_id}, streamed into `dest`."""
        response = yield from self._send(Call("GET", self._url(f"/file/converted/{data_id}"), save_to=dest))
        wire.check(response, f"sanitized file of {data_id}")
        return dest

    def engines(self) -> Operation[list[EngineInfo]]:
        """GET /stat/engines."""
        body = yield from self._json(Call("GET", self._url("/stat/engines")))
        return [EngineInfo.from_json(item) for item in body]

    def _url(self, path: str) -> str:
        """The absolute URL of an API path."""
        return self.base_url + path

    def _poll(self, fetch: Callable[[], Operation[R]], timeout: float, what: str) -> Operation[R]:
        """Fetch until the answer is done, pausing POLL_FIRST, then longer, up to POLL_MAX between fetches."""
        deadline = time.monotonic() + timeout
        pause = POLL_FIRST
        while True:
            latest = yield from fetch()
            if latest.done:
                return latest
            if time.monotonic() + pause > deadline:
                raise ScanTimeout(what, timeout, latest)
            yield Sleep(pause)
            pause = min(pause * POLL_GROWTH, POLL_MAX)

    def _json(self, call: Call, what: str | None = None) -> Operation[Any]:
        """Send, raise the typed error of a failed answer (NotFound for a 404 about `what`), decode the JSON."""
        response = yield from self._send(call)
        wire.check(response, what)
        return wire.json_body(response)

    def _send(self, call: Call) -> Operation[httpx.Response]:
        """Send with the apikey, retrying 429 and 503 with backoff up to `retries` times."""
        if self.apikey:
            call.headers["apikey"] = self.apikey
        retry = 0
        while True:
            response = yield call
            if response.status_code not in (429, 503):
                return response
            if retry == self.retries or (call.upload is not None and not call.upload.replayable):
                break
            yield Sleep(wire.retry_delay(response, retry, self.backoff))
            retry += 1
        message = wire.error_message(response)
        if response.status_code == 429:
            raise RateLimited(message, retry, wire.retry_after(response))
        raise ServerBusy(message, retry)
