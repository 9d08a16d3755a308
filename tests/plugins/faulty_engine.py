"""A third-party engine for tests, installed only through an entry point on PYTHONPATH.

It injects the faults that real engines cannot be made to produce on demand: a file starting
with CRASH-NOW segfaults the engine's process, one starting with HANG-NOW hangs it, and one
starting with FAULTY-DETECT is reported as Infected.
"""

from __future__ import annotations

import ctypes
import time
from pathlib import Path

from scanhive.analysis import verdict
from scanhive.engines.base import Engine, EngineResult, EngineStatus, ScanContext


class FaultyEngine(Engine):
    eng_id = "faulty_1_linux"
    eng_name = "Faulty"

    def status(self) -> EngineStatus:
        return EngineStatus("0.1", None)

    def scan(self, path: Path, context: ScanContext) -> EngineResult:
        head = path.read_bytes()[:16]
        if head.startswith(b"CRASH-NOW"):
            ctypes.string_at(0)  # segmentation fault
        if head.startswith(b"HANG-NOW"):
            time.sleep(3600)
        if head.startswith(b"FAULTY-DETECT"):
            return EngineResult(verdict.INFECTED, threat_found="Faulty.Test")
        return EngineResult.clean()
