"""What the numbers were measured on: cores, CPU model, memory, load and tool versions."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any


def _first(path: str, key: str) -> str:
    for line in Path(path).read_text().splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return ""


def _version(*command: str) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return ""


def code_version() -> dict[str, Any]:
    """The commit measured, and the scanhive/ files changed since it (other work in progress)."""
    root = Path(__file__).resolve().parent.parent
    changed = _version("git", "-C", str(root), "status", "--porcelain", "--", "scanhive")
    return {
        "commit": _version("git", "-C", str(root), "rev-parse", "--short", "HEAD"),
        "uncommitted_scanhive_files": len(changed.splitlines()),
    }


#: The libraries on every request's path. Their releases move the numbers: the same code served a
#: GET /file ~0.3 ms slower (API CPU) on FastAPI 0.165 / Starlette 1.10 / uvicorn 0.54 than on
#: FastAPI 0.115 / Starlette 0.46 / uvicorn 0.34.
_LIBRARIES = ("fastapi", "starlette", "uvicorn", "anyio", "sqlalchemy", "orjson", "python-magic", "yara-python")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that weigh most on the measured paths."""
    found = {}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages (other work on the machine skews every number)."""
    return [float(value) for value in Path("/proc/loadavg").read_text().split()[:3]]


def describe() -> dict[str, Any]:
    """The machine report written with every run."""
    return {
        "cores": os.cpu_count(),
        "cpu_model": _first("/proc/cpuinfo", "model name"),
        "memory_gib": round(int(_first("/proc/meminfo", "MemTotal").split()[0]) / 1024**2, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "clamd": _version("clamd", "--version"),
        "libraries": library_versions(),
        "load_average": load_average(),
        "code": code_version(),
    }
