"""A file to upload: its length up front (the server needs Content-Length) and its bytes as a stream."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Union

import anyio.to_thread

#: What `submit` and `scan` accept: a path, bytes already in memory, or a binary file object.
Source = Union[str, os.PathLike, bytes, BinaryIO]

CHUNK_SIZE = 1024 * 1024


class Upload:
    """Streams a source in chunks of at most CHUNK_SIZE; a path, bytes or seekable file can be sent again."""

    def __init__(self, source: Source, size: int | None = None, progress: Callable[[int], None] | None = None) -> None:
        self._source = source
        self._progress = progress or (lambda sent: None)
        self._start = 0
        self._used = False
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.length = len(source)
            self.replayable = True
            self.name: str | None = None
        elif isinstance(source, (str, os.PathLike)):
            self.length = os.stat(source).st_size
            self.replayable = True
            self.name = Path(source).name
        else:
            self.replayable = _seekable(source)
            if self.replayable:
                self._start = source.tell()
                self.length = size if size is not None else source.seek(0, os.SEEK_END) - self._start
                source.seek(self._start)
            elif size is None:
                raise ValueError("size= is required for a stream that cannot seek")
            else:
                self.length = size
            name = getattr(source, "name", None)
            self.name = Path(name).name if isinstance(name, str) else None

    def chunks(self) -> Iterator[bytes]:
        """The body, from the start, for a blocking client."""
        for chunk in self._read():
            self._progress(len(chunk))
            yield chunk

    async def achunks(self) -> AsyncIterator[bytes]:
        """The body, from the start, for an async client (file reads run in a worker thread)."""
        reader = self._read()
        try:
            while (chunk := await anyio.to_thread.run_sync(next, reader, None)) is not None:
                self._progress(len(chunk))
                yield chunk
        finally:
            reader.close()

    def _read(self) -> Iterator[bytes]:
        """Exactly `length` bytes of the source, chunk by chunk."""
        if self._used and not self.replayable:
            raise RuntimeError("this stream was already sent and cannot be rewound")
        self._used = True
        if isinstance(self._source, (bytes, bytearray, memoryview)):
            data = memoryview(self._source)
            for offset in range(0, self.length, CHUNK_SIZE):
                yield bytes(data[offset : offset + CHUNK_SIZE])
        elif isinstance(self._source, (str, os.PathLike)):
            with open(self._source, "rb") as stream:
                yield from _read_exactly(stream, self.length)
        else:
            if self.replayable:
                self._source.seek(self._start)
            yield from _read_exactly(self._source, self.length)


def _seekable(stream: BinaryIO) -> bool:
    """Whether a file object can seek (and so be measured and re-sent)."""
    try:
        return stream.seekable()
    except (AttributeError, ValueError):
        return False


def _read_exactly(stream: BinaryIO, length: int) -> Iterator[bytes]:
    """`length` bytes from `stream`; a stream shorter than announced is an error, a longer one is cut."""
    remaining = length
    while remaining:
        chunk = stream.read(min(CHUNK_SIZE, remaining))
        if not chunk:
            raise ValueError(f"the file ended {remaining} bytes before its announced size of {length} bytes")
        remaining -= len(chunk)
        yield chunk
