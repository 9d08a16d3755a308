"""ClamAV through clamd: the daemon ScanHive starts and supervises, and the engine that asks it.

We speak clamd's socket protocol ourselves: it is a few lines, and the Python clamd client
packages are unmaintained and cannot pass file descriptors (FILDES), which lets clamd read the
stored file directly, whatever its owner, without copying the bytes through the socket.
"""

from __future__ import annotations

import array
import hashlib
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path

from scanhive.analysis import verdict
from scanhive.config import Settings
from scanhive.engines.base import Engine, EngineResult, EngineStatus, ScanContext
from scanhive.processes import die_with_parent

log = logging.getLogger(__name__)

SIGNATURES_DIR = Path(__file__).parent / "signatures"
_DATABASE_SUFFIXES = (".cvd", ".cld", ".cud", ".ndb", ".hdb", ".hsb", ".mdb", ".msb", ".ldb", ".yar", ".yara", ".ign2", ".fp", ".sfp", ".ftm", ".cdb", ".idb", ".cat", ".crb", ".pdb", ".wdb", ".gdb", ".ndu", ".ldu", ".ign", ".info", ".cfg")
_STATUS_CACHE_SECONDS = 2.0


class ClamdPaths:
    """Where clamd's config, database links, socket and state live for one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.root = (data_dir / "clamav").resolve()
        self.database = self.root / "db"
        self.config = self.root / "clamd.conf"
        self.log = self.root / "clamd.log"
        self.state = self.root / "state.json"
        socket_path = self.root / "clamd.sock"
        if len(str(socket_path)) > 100:  # AF_UNIX paths are limited to 108 bytes
            digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:16]
            socket_path = Path(tempfile.gettempdir()) / f"scanhive-clamd-{digest}.sock"
        self.socket = socket_path


def _command(socket_path: Path, command: bytes, timeout: float, fd: int | None = None) -> str:
    """Send one newline-terminated clamd command (optionally passing a file descriptor)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(str(socket_path))
        conn.sendall(b"n" + command + b"\n")
        if fd is not None:
            conn.sendmsg([b"\0"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
        chunks = []
        while not chunks or not chunks[-1].endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace").strip()


def _fingerprint(files: dict[str, Path]) -> frozenset[tuple[str, int, int]]:
    """What changes when a signature file is added, removed or rewritten: names, mtimes, sizes."""
    stats = []
    for name, path in files.items():
        try:
            info = path.stat()
        except OSError:  # removed between listing and stat: the next look sees it gone
            continue
        stats.append((name, info.st_mtime_ns, info.st_size))
    return frozenset(stats)


def _parse_version(reply: str) -> tuple[str, datetime | None]:
    """'ClamAV 1.4.6/27800/Sun Nov 22 09:30:03 2026' -> ('1.4.6/27800', def_time)."""
    parts = reply.removeprefix("ClamAV ").split("/")
    def_time = None
    if len(parts) >= 3:
        try:
            def_time = parsedate_to_datetime(parts[2] + " +0000")
        except (TypeError, ValueError):
            def_time = None
    return "/".join(parts[:2]), def_time


class ClamdDaemon:
    """Starts clamd for a data dir, restarts it when it dies, and records its state for others."""

    def __init__(self, settings: Settings, pinned: Callable[[], bool] = lambda: False) -> None:
        self.settings = settings
        self.paths = ClamdPaths(settings.data_dir)
        self._pinned = pinned  # while true, changed signature files are not reloaded
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self._loaded: frozenset[tuple[str, int, int]] = frozenset()

    def start(self) -> None:
        """Start clamd and wait until it answers (or record why it cannot run)."""
        binary = shutil.which(self.settings.clamav.clamd_path) or shutil.which(
            self.settings.clamav.clamd_path, path="/usr/sbin:/usr/local/sbin"
        )
        if binary is None:
            self._record("permanently failed", "clamd not found: install ClamAV (Debian: clamav-daemon)")
            return
        self._prepare()
        self._launch(binary)
        if self._wait_ready():
            self._monitor = threading.Thread(target=self._watch, args=(binary,), daemon=True, name="clamd-monitor")
            self._monitor.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()

    def _prepare(self) -> None:
        """Link the signature files into clamd's database dir and write its config."""
        shutil.rmtree(self.paths.database, ignore_errors=True)
        self.paths.database.mkdir(parents=True)
        self._link_database()
        self.paths.socket.unlink(missing_ok=True)
        # ConcurrentDatabaseReload: clamd keeps scanning with the old signatures while it loads the
        # new ones (holding both for that time). Without it a RELOAD waited for clamd's idle threads
        # to time out (~30 s) while scans stalled and the engine looked down.
        self.paths.config.write_text(
            "\n".join(
                [
                    f"LocalSocket {self.paths.socket}",
                    "LocalSocketMode 600",
                    "Foreground yes",
                    f"DatabaseDirectory {self.paths.database}",
                    f"LogFile {self.paths.log}",
                    "LogTime yes",
                    "ConcurrentDatabaseReload yes",
                    "MaxFileSize 2000M",
                    "MaxScanSize 4000M",
                    "StreamMaxLength 2000M",
                    "SelfCheck 0",
                ]
            )
            + "\n"
        )

    def _signature_files(self) -> dict[str, Path]:
        """The files clamd loads, by name: ScanHive's, then the configured dir's or else the system's."""
        sources = [SIGNATURES_DIR]
        extra = self.settings.clamav.database_dir
        system = self.settings.clamav.system_database_dir
        if extra is not None:
            sources.append(extra)
        elif system.is_dir():
            sources.append(system)
        files: dict[str, Path] = {}
        for source in sources:
            for item in sorted(source.iterdir()) if source.is_dir() else ():
                if item.suffix in _DATABASE_SUFFIXES and item.is_file():
                    files.setdefault(item.name, item.resolve())
        return files

    def _link_database(self) -> None:
        """Make clamd's database dir hold exactly a link to each signature file."""
        files = self._signature_files()
        for link in self.paths.database.iterdir():
            if link.name not in files or link.resolve() != files[link.name]:
                link.unlink()
        for name, target in files.items():
            link = self.paths.database / name
            if not link.is_symlink():
                link.symlink_to(target)
        self._loaded = _fingerprint(files)

    def _reload_if_changed(self) -> None:
        """RELOAD clamd when a signature file was added, removed or rewritten (freshclam, an admin)."""
        if _fingerprint(self._signature_files()) == self._loaded or self._pinned():
            return
        self._link_database()
        try:
            reply = _command(self.paths.socket, b"RELOAD", 30.0)
        except OSError as exc:
            log.warning("clamd did not take RELOAD: %s", exc)
            return
        log.info("signature files changed; clamd: %s", reply)

    def _launch(self, binary: str) -> None:
        self._record("staging", "clamd is loading its database")
        self._process = subprocess.Popen(
            [binary, f"--config-file={self.paths.config}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=partial(die_with_parent, os.getpid()),
        )

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.settings.clamav.start_timeout
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._record("permanently failed", f"clamd exited ({self._process.returncode}): {self._log_tail()}")
                return False
            try:
                if _command(self.paths.socket, b"PING", 2.0) == "PONG":
                    self._record("production", "")
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        self._record("permanently failed", f"clamd did not answer within {self.settings.clamav.start_timeout:.0f}s")
        return False

    def _watch(self, binary: str) -> None:
        """Restart clamd when it dies; reload its signatures when their files change."""
        while not self._stopping.wait(1.0):
            if self._process is not None and self._process.poll() is not None and not self._stopping.is_set():
                log.warning("clamd exited with %s; restarting", self._process.returncode)
                self.paths.socket.unlink(missing_ok=True)
                self._launch(binary)
                if not self._wait_ready():
                    return
            else:
                self._reload_if_changed()

    def _log_tail(self) -> str:
        try:
            lines = self.paths.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return " | ".join(lines[-3:])

    def _record(self, state: str, reason: str) -> None:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        self.paths.state.write_text(json.dumps({"state": state, "reason": reason}))


class ClamAVEngine(Engine):
    eng_id = "clamav_1_linux"
    eng_name = "ClamAV"
    engine_type = "av"
    isolated = False  # clamd is already a process of its own

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.paths = ClamdPaths(settings.data_dir)
        self._status: tuple[float, EngineStatus] | None = None

    def status(self) -> EngineStatus:
        now = time.monotonic()
        if self._status is None or now - self._status[0] > _STATUS_CACHE_SECONDS:
            self._status = (now, self._read_status())
        return self._status[1]

    def _read_status(self) -> EngineStatus:
        if not self.settings.clamav.enabled:
            return EngineStatus("", None, "removed", "disabled in the configuration")
        try:
            recorded = json.loads(self.paths.state.read_text())
        except (OSError, ValueError):
            recorded = {"state": "permanently failed", "reason": "clamd has not been started"}
        if recorded["state"] != "production":
            return EngineStatus("", None, recorded["state"], recorded["reason"])
        try:
            version, def_time = _parse_version(_command(self.paths.socket, b"VERSION", 5.0))
        except OSError as exc:
            return EngineStatus("", None, "temporary failed", f"clamd is not answering: {exc}")
        return EngineStatus(version, def_time or self._signature_time())

    def _signature_time(self) -> datetime | None:
        times = [p.stat().st_mtime for p in self.paths.database.iterdir()] if self.paths.database.is_dir() else []
        return datetime.fromtimestamp(max(times), tz=timezone.utc) if times else None

    def scan(self, path: Path, context: ScanContext) -> EngineResult:
        with path.open("rb") as handle:
            reply = _command(self.paths.socket, b"FILDES", context.timeout, fd=handle.fileno())
        # "fd[10]: OK" | "fd[10]: Eicar-Test-Signature.UNOFFICIAL FOUND" | "...: <reason> ERROR"
        finding = reply.split(": ", 1)[-1]
        if finding == "OK":
            return EngineResult.clean()
        if finding.endswith(" FOUND"):
            # clamd marks signatures outside its official databases (ours) ".UNOFFICIAL"
            threat = finding.removesuffix(" FOUND").removesuffix(".UNOFFICIAL")
            return EngineResult(verdict.INFECTED, threat_found=threat)
        raise RuntimeError(finding.removesuffix(" ERROR") or "clamd gave no answer")
