"""Uploads are streamed with a Content-Length, never read whole."""

from __future__ import annotations

import asyncio
import io
import os
import tracemalloc
from pathlib import Path

import pytest

from scanhive.client import AsyncClient, Client
from scanhive.client.upload import CHUNK_SIZE, Upload
from tests.client.fake_core import FakeCore

BIG = 50 * 1024 * 1024


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    """A 50 MB (sparse) file."""
    path = tmp_path / "big.bin"
    with open(path, "wb") as out:
        out.truncate(BIG)
    return path


def _peak_while(action) -> int:
    """Peak traced memory allocated while `action` runs, in bytes."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_50_mb_upload_is_streamed_with_content_length(core: FakeCore, url: str, big_file: Path) -> None:
    with Client(url) as client:
        peak = _peak_while(lambda: client.submit(big_file))
    upload = core.uploads[-1]
    assert upload.headers["content-length"] == str(BIG)
    assert "transfer-encoding" not in upload.headers
    assert upload.size == BIG and upload.chunks > 10
    assert peak < 8 * CHUNK_SIZE, f"peak {peak} bytes while uploading {BIG}"


def test_the_async_client_streams_too(core: FakeCore, url: str, big_file: Path) -> None:
    async def submit() -> None:
        async with AsyncClient(url) as client:
            await client.submit(big_file)

    peak = _peak_while(lambda: asyncio.run(submit()))
    assert core.uploads[-1].headers["content-length"] == str(BIG)
    assert "transfer-encoding" not in core.uploads[-1].headers
    assert peak < 8 * CHUNK_SIZE, f"peak {peak} bytes while uploading {BIG}"


def test_progress_reports_every_byte_sent(url: str, big_file: Path) -> None:
    sent: list[int] = []
    with Client(url) as client:
        client.submit(big_file, progress=sent.append)
    assert sum(sent) == BIG and max(sent) <= CHUNK_SIZE


def test_a_seekable_stream_is_sent_from_its_current_position(core: FakeCore, url: str) -> None:
    stream = io.BytesIO(b"headerPAYLOAD")
    stream.seek(6)
    with Client(url) as client:
        report = client.scan(stream, filename="p.bin")
    assert core.uploads[-1].headers["content-length"] == "7"
    assert report.file.file_size == 7


def test_an_upload_can_be_replayed_but_a_pipe_cannot(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    for replayable in (Upload(b"abc"), Upload(path), Upload(io.BytesIO(b"abc"))):
        assert replayable.replayable and replayable.length == 3
        assert b"".join(replayable.chunks()) == b"".join(replayable.chunks()) == b"abc"
    read_end, write_end = os.pipe()
    os.write(write_end, b"abc")
    os.close(write_end)
    with open(read_end, "rb") as pipe:
        upload = Upload(pipe, size=3)
        assert not upload.replayable
        assert b"".join(upload.chunks()) == b"abc"
        with pytest.raises(RuntimeError, match="cannot be rewound"):
            b"".join(upload.chunks())


def test_a_file_shorter_than_announced_is_an_error() -> None:
    with pytest.raises(ValueError, match="ended 5 bytes before"):
        b"".join(Upload(io.BytesIO(b"abc"), size=8).chunks())
