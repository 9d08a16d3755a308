"""Archives that only a command-line tool can make, shared by the extraction and API tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def build_arj(path: Path, entries: dict[str, bytes], *options: str) -> Path:
    """An ARJ made by the arj command (Debian: arj) from files staged beside it; options such as -gPASSWORD."""
    staging = path.parent / f"{path.name}.staging"
    for name, data in entries.items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_bytes(data)
    subprocess.run(["arj", "a", "-r", "-y", *options, str(path), *entries], cwd=staging, check=True, capture_output=True)
    shutil.rmtree(staging)
    return path
