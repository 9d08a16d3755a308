"""Ingest: stream an upload to the file store while computing md5/sha1/sha256/sha512 in one pass.

The body is never held whole: chunks are gathered into blocks of up to `_BLOCK` bytes. A block is
hashed in two threads, md5+sha1 (which also writes it) and sha256+sha512, as hashlib releases the
GIL; meanwhile the event loop receives the next block. One block is in flight at a time, so the
digests and the file see the blocks in order.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

_BLOCK = 1024 * 1024
#: Smaller blocks (small files, the last block) are hashed on the event loop: that takes less
#: than handing them to two threads and back.
_INLINE = 64 * 1024
_PAIRS = (("md5", "sha1"), ("sha256", "sha512"))
_ALGORITHMS = tuple(name for pair in _PAIRS for name in pair)
#: Shared by every upload: each has at most one block (two tasks) in flight.
_THREADS = futures.ThreadPoolExecutor(thread_name_prefix="ingest")


@dataclass(frozen=True)
class Ingested:
    path: Path
    size: int
    md5: str
    sha1: str
    sha256: str
    sha512: str
    hash_time: int  # milliseconds spent hashing


def _update(digests: list[Any], block: bytes) -> float:
    """Feed `block` to `digests`; returns the seconds it took."""
    began = time.perf_counter()
    for digest in digests:
        digest.update(block)
    return time.perf_counter() - began


class _HashingWriter:
    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.first, self.second = ([hashlib.new(name) for name in pair] for pair in _PAIRS)
        self.size = 0
        self.hash_seconds = 0.0
        self._in_flight: list[futures.Future[float]] = []

    def _first_and_write(self, block: bytes) -> float:
        took = _update(self.first, block)
        self.handle.write(block)
        return took

    async def write(self, block: bytes) -> None:
        """Wait for the block in flight, then start this one (or do it at once when small)."""
        await self.settle()
        if len(block) < _INLINE:
            self.hash_seconds += self._first_and_write(block) + _update(self.second, block)
        else:
            self._in_flight = [
                _THREADS.submit(self._first_and_write, block),
                _THREADS.submit(_update, self.second, block),
            ]
        self.size += len(block)

    async def settle(self) -> None:
        """Wait for the block in flight; its hashing time is that of the slower pair."""
        if self._in_flight:
            took = [await asyncio.wrap_future(future) for future in self._in_flight]
            self.hash_seconds += max(took)
            self._in_flight = []

    def abandon(self) -> None:
        """On failure: drop the block in flight, or wait for threads already at it (they use the file)."""
        futures.wait([future for future in self._in_flight if not future.cancel()])
        self._in_flight = []


async def _blocks(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The body regrouped into blocks of at least `_BLOCK` bytes (the last one may be smaller)."""
    pending: list[bytes] = []
    pending_size = 0
    async for chunk in chunks:
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size >= _BLOCK:
            yield b"".join(pending)
            pending, pending_size = [], 0
    if pending_size:
        yield b"".join(pending)


async def ingest(chunks: AsyncIterator[bytes], target: Path) -> Ingested:
    """Write `chunks` to `target`; the caller removes `target` if this raises."""
    with target.open("wb") as handle:
        writer = _HashingWriter(handle)
        try:
            async for block in _blocks(chunks):
                await writer.write(block)
            await writer.settle()
        except BaseException:
            writer.abandon()
            raise
    md5, sha1, sha256, sha512 = (digest.hexdigest() for digest in (*writer.first, *writer.second))
    return Ingested(target, writer.size, md5, sha1, sha256, sha512, int(writer.hash_seconds * 1000))


def hash_file(path: Path) -> dict[str, str]:
    """md5/sha1/sha256/sha512 of a stored file, read once in blocks."""
    hashes = [hashlib.new(name) for name in _ALGORITHMS]
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            for digest in hashes:
                digest.update(block)
    return {name: digest.hexdigest() for name, digest in zip(_ALGORITHMS, hashes)}
