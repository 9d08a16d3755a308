"""Ingest: stream an upload to the file store while computing md5/sha1/sha256/sha512 in one pass.

The body is never held whole: chunks are gathered up to `_BLOCK` bytes and each block is hashed
and written in a worker thread (hashlib releases the GIL), so the event loop keeps serving.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread

_BLOCK = 1024 * 1024
_ALGORITHMS = ("md5", "sha1", "sha256", "sha512")


@dataclass(frozen=True)
class Ingested:
    path: Path
    size: int
    md5: str
    sha1: str
    sha256: str
    sha512: str
    hash_time: int  # milliseconds spent hashing


class _HashingWriter:
    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.hashes = [hashlib.new(name) for name in _ALGORITHMS]
        self.size = 0
        self.hash_seconds = 0.0

    def write(self, block: bytes) -> None:
        began = time.perf_counter()
        for digest in self.hashes:
            digest.update(block)
        self.hash_seconds += time.perf_counter() - began
        self.handle.write(block)
        self.size += len(block)


async def ingest(chunks: AsyncIterator[bytes], target: Path) -> Ingested:
    """Write `chunks` to `target`; the caller removes `target` if this raises."""
    with target.open("wb") as handle:
        writer = _HashingWriter(handle)
        pending: list[bytes] = []
        pending_size = 0
        async for chunk in chunks:
            if not chunk:
                continue
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= _BLOCK:
                await anyio.to_thread.run_sync(writer.write, b"".join(pending))
                pending, pending_size = [], 0
        if pending:
            await anyio.to_thread.run_sync(writer.write, b"".join(pending))
    md5, sha1, sha256, sha512 = (h.hexdigest() for h in writer.hashes)
    return Ingested(target, writer.size, md5, sha1, sha256, sha512, int(writer.hash_seconds * 1000))


def hash_file(path: Path) -> dict[str, str]:
    """md5/sha1/sha256/sha512 of a stored file, read once in blocks."""
    hashes = [hashlib.new(name) for name in _ALGORITHMS]
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            for digest in hashes:
                digest.update(block)
    return {name: digest.hexdigest() for name, digest in zip(_ALGORITHMS, hashes)}
