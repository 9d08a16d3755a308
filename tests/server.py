"""A real `scanhive serve` process for tests: started on a free port with its own data dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ADMIN_PASSWORD = "test-admin-password"
_START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def eicar() -> bytes:
    """The EICAR test file, assembled here so this source file is not itself a test virus."""
    return b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-" + b"TEST-FILE!$H+H*"


class ScanHiveServer:
    """Runs `python -m scanhive serve`; environment entries configure it (SCANHIVE_*)."""

    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str] | None = None,
        workers: int = 2,
        admin_password: str | None = ADMIN_PASSWORD,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {**os.environ, **(env or {})}
        self.env.pop("SCANHIVE_ADMIN_PASSWORD", None)
        if admin_password is not None:
            self.env["SCANHIVE_ADMIN_PASSWORD"] = admin_password
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}-server.log"

    def start(self, wait_ready: bool = True) -> ScanHiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "scanhive", "serve",
            "--data-dir", str(self.data_dir), "--port", str(self.port), "--workers", str(self.workers),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self._wait_listening(ready=wait_ready)
        return self

    def _wait_listening(self, ready: bool) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                answer = httpx.get(f"{self.url}/readyz", timeout=2)
                if not ready or answer.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not become ready:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL the server process (its children die with it)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)


def submit(client: httpx.Client, content: bytes, **headers: str) -> str:
    """POST /file with a raw body; returns the data_id."""
    answer = client.post("/file", content=content, headers={"content-type": "application/octet-stream", **headers})
    assert answer.status_code == 200, answer.text
    return answer.json()["data_id"]


def wait_done(client: httpx.Client, data_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll GET /file/{data_id} until progress reaches 100; returns the final report."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = client.get(f"/file/{data_id}").json()
        if report.get("scan_results", {}).get("progress_percentage") == 100:
            return report
        time.sleep(0.05)
    raise AssertionError(f"{data_id} did not finish within {timeout}s")
