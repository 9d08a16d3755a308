"""Ingest: the stored bytes and all four digests, whatever the chunking, and a body cut off midway."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from scanhive.analysis.ingest import ingest

MIB = 1024 * 1024


async def _chunks(body: bytes, sizes: list[int], fail_after: int | None = None) -> AsyncIterator[bytes]:
    offset = 0
    for size in sizes:
        if fail_after is not None and offset >= fail_after:
            raise ConnectionResetError("client went away")
        yield body[offset : offset + size]
        offset += size
        await asyncio.sleep(0)


def _sizes(total: int, rng: random.Random) -> list[int]:
    """Chunk sizes as a server sees them: mostly 64 KiB, some tiny, some over a block."""
    sizes, left = [], total
    while left:
        size = min(left, rng.choice([1, 100, 65536, 65536, 65536, 3 * MIB // 2]))
        sizes.append(size)
        left -= size
    return sizes


@pytest.mark.parametrize("total", [1, 65535, MIB - 1, MIB, 7 * MIB + 12345])
def test_stored_bytes_and_digests_match_whatever_the_chunking(tmp_path: Path, total: int) -> None:
    rng = random.Random(total)
    body = rng.randbytes(total)
    target = tmp_path / "upload"
    ingested = asyncio.run(ingest(_chunks(body, _sizes(total, rng)), target))
    assert target.read_bytes() == body
    assert ingested.size == total
    for name in ("md5", "sha1", "sha256", "sha512"):
        assert getattr(ingested, name) == hashlib.new(name, body).hexdigest()


def test_a_body_cut_off_midway_raises_and_leaves_no_thread_writing(tmp_path: Path) -> None:
    body = random.Random(1).randbytes(12 * MIB)
    target = tmp_path / "upload"

    async def cut_off() -> list[object]:
        errors: list[object] = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
        with pytest.raises(ConnectionResetError):
            await ingest(_chunks(body, [MIB // 2] * 24, fail_after=9 * MIB), target)
        size = target.stat().st_size
        await asyncio.sleep(0.2)  # anything still running would write on now
        assert target.stat().st_size == size
        return errors

    errors = asyncio.run(cut_off())
    assert errors == []  # no "exception was never retrieved" from the blocks in flight
    assert target.stat().st_size <= 9 * MIB
