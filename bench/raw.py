"""The raw tools ScanHive is compared with: `clamdscan --multiscan --fdpass` and `sha256sum`."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RawRun:
    tool: str
    seconds: float


def clamd_config(socket_path: Path, directory: Path) -> Path:
    """A clamdscan config pointing at the server's own clamd socket."""
    path = directory / "clamdscan.conf"
    path.write_text(f"LocalSocket {socket_path}\n")
    return path


def clamdscan(corpus_dir: Path, config: Path) -> RawRun:
    """Scan the corpus directory through clamd, files passed by descriptor, in parallel.

    clamdscan walks the directory itself and names only the directory when nothing is found.
    """
    command = ["clamdscan", "--multiscan", "--fdpass", "--no-summary", f"--config-file={config}", str(corpus_dir)]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode not in (0, 1):  # 1: something was found
        raise RuntimeError(f"clamdscan failed ({done.returncode}): {done.stderr or done.stdout}")
    return RawRun("clamdscan", seconds)


def sha256sum(corpus_dir: Path, names: list[str]) -> RawRun:
    """Hash every file with coreutils' sha256sum (one process, one core)."""
    began = time.perf_counter()
    done = subprocess.run(["sha256sum", "--", *names], cwd=corpus_dir, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - began
    if len(done.stdout.splitlines()) != len(names):
        raise RuntimeError(f"sha256sum hashed {len(done.stdout.splitlines())} of {len(names)} files")
    return RawRun("sha256sum", seconds)
