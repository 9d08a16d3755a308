"""The one small interface every engine implements, and the typed values it returns.

An engine is constructed in every worker process from the settings, `load()`ed once there, and
then asked to `scan()` one file at a time. It returns an `EngineResult`; it never writes into
shared state. The pipeline times each call, enforces the timeout and turns an exception into a
Failed result, so an engine may simply raise on trouble.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from scanhive.analysis import verdict
from scanhive.config import Settings

#: How many leading bytes of a file `Engine.accepts` is shown (the whole file when it is shorter).
HEAD_SIZE = 4096


@dataclass(frozen=True)
class EngineStatus:
    """What /stat/engines shows about an engine in this deployment."""

    eng_ver: str
    def_time: datetime | None
    state: str = "production"  # values from the spec: production, permanently failed, ...
    reason: str = ""  # why the state is not production

    @property
    def usable(self) -> bool:
        return self.state == "production"


@dataclass(frozen=True)
class ScanContext:
    """What an engine may know about the file besides its bytes."""

    display_name: str
    file_type: str  # MIME type as libmagic sees it
    timeout: float  # seconds this engine may take for this file
    hashes: Mapping[str, str] = field(default_factory=dict)  # md5/sha1/sha256/sha512 -> hex


@dataclass(frozen=True)
class EngineResult:
    """One engine's finding on one file (scan_details entry without the timings)."""

    scan_result_i: int
    threat_found: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # engine-specific report data

    @classmethod
    def clean(cls) -> EngineResult:
        return cls(verdict.NO_THREAT)

    @classmethod
    def failed(cls, reason: str) -> EngineResult:
        return cls(verdict.FAILED, threat_found=reason)


class Engine(abc.ABC):
    """A scanning engine. Subclasses set the class attributes and implement the methods."""

    eng_id: ClassVar[str]  # e.g. "clamav_1_linux"
    eng_name: ClassVar[str]  # key in scan_details, e.g. "ClamAV"
    engine_type: ClassVar[str] = "av"  # av | archive | filetype | ...
    #: Scan in a host process of its own (see isolation.py); off for engines that already run
    #: out of process, such as clamd.
    isolated: ClassVar[bool] = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @abc.abstractmethod
    def status(self) -> EngineStatus:
        """Version, definition time and state; cheap enough to call per request."""

    def accepts(self, file_type: str, head: bytes) -> bool:
        """Whether `scan()` may find anything in a file of this MIME type starting with `head`.

        Asked in the worker before the file goes to the engine's host process, so it must be cheap
        and need nothing from `load()`. A declined file is reported as No Threat Detected without
        a scan, so decline only what `scan()` would answer that way too.
        """
        return True

    def load(self) -> None:  # noqa: B027 - optional hook, most engines need nothing
        """Prepare for scanning (compile rules, connect); called once per worker process."""

    @abc.abstractmethod
    def scan(self, path: Path, context: ScanContext) -> EngineResult:
        """Scan one file. Raise on failure; the caller records a Failed result."""
