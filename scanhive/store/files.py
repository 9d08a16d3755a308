"""The file store: where uploaded bytes live between ingest and analysis (a directory here)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


class DirectoryFileStore:
    """Files under `<root>/<k[:2]>/<k>`; new files are written under `<root>/incoming` first."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / "incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)

    def new_incoming(self) -> Path:
        """A fresh path to stream an upload into."""
        return self.incoming / uuid.uuid4().hex

    def commit(self, incoming: Path, key: str) -> str:
        """Move a finished upload into place under `key`; returns the key."""
        target = self.path(key)
        try:
            os.replace(incoming, target)
        except FileNotFoundError:  # the first file under this prefix: its directory comes first
            target.parent.mkdir(exist_ok=True)
            os.replace(incoming, target)
        return key

    def path(self, key: str) -> Path:
        """Local path of a stored file (analysis reads it in place)."""
        return self.root / key[:2] / key

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def discard_incoming(self) -> None:
        """Remove uploads cut off by a crash before they were recorded."""
        shutil.rmtree(self.incoming, ignore_errors=True)
        self.incoming.mkdir(parents=True, exist_ok=True)

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free
