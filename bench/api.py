"""Scanning through the HTTP API as a client does: upload, poll until final, keep the report."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

_FINAL_TIMEOUT = 600.0


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


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=httpx.Timeout(300.0))


def wait_final(http: httpx.Client, data_id: str, polling: Polling) -> tuple[dict[str, Any], int]:
    """Poll GET /file/{data_id} until its report is final; returns that report and the polls made."""
    deadline = time.perf_counter() + _FINAL_TIMEOUT
    wait = polling.first
    polls = 0
    while True:
        report = http.get(f"/file/{data_id}").json()
        polls += 1
        if report.get("scan_results", {}).get("progress_percentage") == 100:
            return report, polls
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{data_id} not final after {_FINAL_TIMEOUT:.0f}s")
        time.sleep(wait)
        wait = min(wait * 2, polling.most)


def scan(http: httpx.Client, name: str, content: bytes, polling: Polling) -> Scan:
    """Submit one file and poll until its report is final."""
    began = time.perf_counter()
    answer = http.post("/file", content=content, headers={"filename": name, "content-type": "application/octet-stream"})
    answer.raise_for_status()
    uploaded = time.perf_counter()
    report, polls = wait_final(http, answer.json()["data_id"], polling)
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
    opened: list[httpx.Client] = []
    lock = threading.Lock()

    def one(path: Path) -> Scan:
        if not hasattr(local, "http"):
            local.http = client(url)
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


def timed(call: Callable[..., httpx.Response], *args: Any, **kwargs: Any) -> float:
    """Seconds `call(*args, **kwargs)` took; raises on an error status."""
    began = time.perf_counter()
    call(*args, **kwargs).raise_for_status()
    return time.perf_counter() - began
