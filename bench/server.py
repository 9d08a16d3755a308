"""A `scanhive serve` process run for a benchmark, and the processes it is made of."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench import procfs
from scanhive.engines.clamav import ClamdPaths

_START_TIMEOUT = 180.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BenchServer:
    """Starts `python -m scanhive serve` on a free port; use as a context manager."""

    def __init__(self, data_dir: Path, workers: int, api_processes: int = 1) -> None:
        self.data_dir = data_dir
        self.workers = workers
        self.api_processes = api_processes
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"{data_dir.name}-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BenchServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def clamd_socket(self) -> Path:
        return ClamdPaths(self.data_dir).socket

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "scanhive", "serve",
            "--data-dir", str(self.data_dir), "--port", str(self.port), "--workers", str(self.workers),
            "--api-processes", str(self.api_processes),
        ]
        env = {**os.environ, "SCANHIVE_ADMIN_PASSWORD": "bench-admin-password"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready within {_START_TIMEOUT:.0f}s; see {self.log}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def clamd_signatures(self) -> int:
        """How many signatures clamd loaded last (from its log); 0 when unknown."""
        found = re.findall(r"Loaded (\d+) signatures", ClamdPaths(self.data_dir).log.read_text(errors="replace"))
        return int(found[-1]) if found else 0

    def restart_clamd(self) -> None:
        """Restart clamd (the server relaunches it) so its clean-file cache is empty again.

        clamd answers a file it has already found clean from an MD5-keyed cache; without this
        a second scan of the same corpus, by clamdscan or by ScanHive, would not scan at all.
        """
        old = self.roles()["clamd"]
        for pid in old:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            time.sleep(0.1)
            current = self.roles()["clamd"]
            if current and not set(current) & set(old) and self._clamd_ready():
                return
        raise RuntimeError(f"clamd was not restarted within {_START_TIMEOUT:.0f}s; see {self.log}")

    def _clamd_ready(self) -> bool:
        paths = ClamdPaths(self.data_dir)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(2.0)
                conn.connect(str(paths.socket))
                conn.sendall(b"nPING\n")
                answered = conn.recv(64).strip() == b"PONG"
            return answered and json.loads(paths.state.read_text())["state"] == "production"
        except (OSError, ValueError, KeyError):
            return False

    def roles(self) -> dict[str, list[int]]:
        """pids by role: api (the serve process and its API helpers), workers, engine_hosts (the workers'
        children), clamd."""
        found: dict[str, list[int]] = {"api": [self.pid], "workers": [], "engine_hosts": [], "clamd": []}
        for child in procfs.children(self.pid):
            command = procfs.command(child)
            if "clamd" in command:
                found["clamd"].append(child)
            elif procfs.leads_own_group(child):
                found["api"].append(child)
            elif "spawn_main" in command:
                found["workers"].append(child)
                found["engine_hosts"] += procfs.descendants(child)
        return found

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each role."""
        return {role: sum(procfs.cpu_seconds(pid) for pid in pids) for role, pids in self.roles().items()}
