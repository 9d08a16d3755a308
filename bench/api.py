"""Scanning through the HTTP API as a client does: upload, poll until final, keep the report."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

_FINAL_TIMEOUT = 600.0
#: The connection errors of a keep-alive connection the server closed while it was idle.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class HttpError(Exception):
    """The server answered with an error status."""


class Client:
    """One keep-alive HTTP/1.1 connection answering JSON.

    The benchmark's clients share the two cores with the server they measure, so they are built
    on http.client: httpx spent ~1.5 ms of CPU per request here, several times what this does.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=300.0)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()

    def request(
        self, method: str, path: str, body: bytes | Iterable[bytes] | None = None, headers: Mapping[str, str] = {}
    ) -> Any:
        """The decoded JSON answer; raises HttpError on an error status."""
        try:
            self._connection.request(method, path, body=body, headers=dict(headers))
            response = self._connection.getresponse()
        except _STALE:  # idle too long: the server closed the connection before this request
            self._connection.close()
            self._connection.request(method, path, body=body, headers=dict(headers))
            response = self._connection.getresponse()
        data = response.read()
        if response.status >= 400:
            raise HttpError(f"{method} {path}: {response.status} {data[:200]!r}")
        return orjson.loads(data)

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post_json(self, path: str, value: Any) -> Any:
        return self.request("POST", path, orjson.dumps(value), {"content-type": "application/json"})

    def post_file(self, name: str, body: bytes | Iterable[bytes], headers: Mapping[str, str] = {}) -> Any:
        """POST /file; give an iterable `body` a content-length header (it is not sent chunked)."""
        return self.request("POST", "/file", body, {"filename": name, "content-type": "application/octet-stream", **headers})


@dataclass(frozen=True)
class Polling:
    """Poll GET /file/{id} at `first` seconds, doubling up to `most` (a typical client's backoff)."""

    first: float
    most: float


@dataclass(frozen=True)
class Scan:
    data_id: str
    size: int
    upload_seconds: float  # POST /file until its answer
    total_seconds: float  # POST /file until the final report arrived
    polls: int  # GET /file/{data_id} requests made
    report: dict[str, Any]


def wait_final(http: Client, data_id: str, polling: Polling) -> tuple[dict[str, Any], int]:
    """Poll GET /file/{data_id} until its report is final; returns that report and the polls made."""
    deadline = time.perf_counter() + _FINAL_TIMEOUT
    wait = polling.first
    polls = 0
    while True:
        report = http.get(f"/file/{data_id}")
        polls += 1
        if report.get("scan_results", {}).get("progress_percentage") == 100:
            return report, polls
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{data_id} not final after {_FINAL_TIMEOUT:.0f}s")
        time.sleep(wait)
        wait = min(wait * 2, polling.most)


def scan(http: Client, name: str, content: bytes, polling: Polling) -> Scan:
    """Submit one file and poll until its report is final."""
    began = time.perf_counter()
    answer = http.post_file(name, content)
    uploaded = time.perf_counter()
    report, polls = wait_final(http, answer["data_id"], polling)
    return Scan(report["data_id"], len(content), uploaded - began, time.perf_counter() - began, polls, report)


@dataclass(frozen=True)
class Run:
    seconds: float
    scans: list[Scan]

    @property
    def bytes(self) -> int:
        return sum(s.size for s in self.scans)


def scan_files(url: str, paths: Sequence[Path], clients: int, polling: Polling) -> Run:
    """Scan every file with `clients` concurrent clients (threads, one connection each)."""
    local = threading.local()
    opened: list[Client] = []
    lock = threading.Lock()

    def one(path: Path) -> Scan:
        if not hasattr(local, "http"):
            local.http = Client(url)
            with lock:
                opened.append(local.http)
        return scan(local.http, path.name, path.read_bytes(), polling)

    began = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            scans = list(pool.map(one, paths))
    finally:
        for http in opened:
            http.close()
    return Run(time.perf_counter() - began, scans)
