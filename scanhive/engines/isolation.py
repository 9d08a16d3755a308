"""Running an engine in a process of its own, so a segfault or a hang costs only that engine's result.

Each worker keeps one long-lived host process per isolated engine and talks to it over a pipe.
A host that dies mid-scan (a native library crashing) or overruns the timeout is killed and
replaced; the scan it was doing ends as that engine's Failed result.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from scanhive.engines.base import Engine, EngineResult, EngineStatus, ScanContext
from scanhive.processes import die_with_parent

log = logging.getLogger(__name__)
_CONTEXT = multiprocessing.get_context("spawn")
_START_TIMEOUT = 120.0


def _serve(engine: Engine, connection: Connection) -> None:
    """Host process main loop: load the engine once, then answer scan requests until EOF."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    engine.load()
    connection.send("ready")
    while True:
        try:
            path, context = connection.recv()
        except EOFError:
            return
        try:
            result = engine.scan(path, context)
        except Exception as exc:  # reported as this engine's failure, the host lives on
            result = EngineResult.failed(f"{type(exc).__name__}: {exc}"[:500])
        connection.send(result)


def _exit_reason(process: BaseProcess) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        return f"engine crashed ({signal.Signals(-code).name})"
    return f"engine process exited ({code})"


class IsolatedEngine(Engine):
    """Wraps an engine so that its scans run in a host process; same interface as the engine."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine.settings)
        self.inner = engine
        self.eng_id = engine.eng_id
        self.eng_name = engine.eng_name
        self.engine_type = engine.engine_type
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        self._lock = threading.Lock()  # one scan at a time per host

    def status(self) -> EngineStatus:
        return self.inner.status()

    def accepts(self, file_type: str, head: bytes) -> bool:
        return self.inner.accepts(file_type, head)  # answered here, so a declined file costs no round trip

    def start(self) -> None:
        """Start the host process without waiting for it (so a worker starts its hosts together)."""
        ours, theirs = _CONTEXT.Pipe()
        process = _CONTEXT.Process(target=_serve, args=(self.inner, theirs), daemon=True, name=f"engine-{self.eng_id}")
        process.start()
        theirs.close()
        self._process, self._connection = process, ours

    def load(self) -> None:
        """Wait until the host has loaded the engine (starting it first if needed)."""
        if self._process is None:
            self.start()
        assert self._process is not None and self._connection is not None
        if not self._connection.poll(_START_TIMEOUT) or self._connection.recv() != "ready":
            self._process.kill()
            raise RuntimeError(f"{self.eng_name} engine did not start")

    def _restart(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
        self.start()
        self.load()

    def scan(self, path: Path, context: ScanContext) -> EngineResult:
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._restart()
            assert self._connection is not None and self._process is not None
            try:
                self._connection.send((path, context))
                if self._connection.poll(context.timeout):
                    return self._connection.recv()
                reason = f"Scan timed out after {context.timeout:.0f}s"
            except (EOFError, OSError):
                self._process.join(timeout=5)
                reason = _exit_reason(self._process)
            log.warning("%s: %s while scanning %s", self.eng_name, reason, path)
            self._restart()
            return EngineResult.failed(reason)
