"""Client and AsyncClient: the Python SDK for ScanHive and any MetaDefender Core or Cloud v4 server."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import anyio
import httpx

from scanhive import __version__
from scanhive.client import wire
from scanhive.client.errors import ConnectionFailed
from scanhive.client.models import BatchStatus, EngineInfo, HashResult, ScanReport, Submission
from scanhive.client.operations import Call, Operation, Operations, Sleep, Step
from scanhive.client.upload import Source

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8008"
#: How long scan() and wait() wait for a final result by default, in seconds.
DEFAULT_WAIT = 300.0


class _BaseClient:
    """What Client and AsyncClient share: the server's address, dialect, apikey and retry policy.

    `url` is the server (a URL ending in /v4 selects the Cloud dialect, as does dialect="cloud");
    429 and 503 answers are retried `retries` times, waiting the server's Retry-After or else
    `backoff` seconds doubled at each retry; `http_timeout` bounds each network wait.
    """

    _http_class: type[httpx.Client] | type[httpx.AsyncClient]

    def __init__(
        self,
        url: str = DEFAULT_URL,
        apikey: str | None = None,
        *,
        dialect: wire.Dialect | None = None,
        retries: int = 5,
        backoff: float = 0.5,
        http_timeout: float = 30.0,
    ) -> None:
        base_url, self.dialect = wire.resolve(url, dialect)
        if self.dialect == "cloud" and not apikey:
            raise ValueError("MetaDefender Cloud (/v4) needs an apikey")
        self.url = base_url
        self._ops = Operations(base_url, apikey, retries, backoff)
        self._http: Any = self._http_class(
            timeout=httpx.Timeout(http_timeout, connect=min(http_timeout, 10.0)),
            headers={"user-agent": f"scanhive-client/{__version__}"},
        )


class Client(_BaseClient):
    """A blocking client: `with Client(url, apikey) as client: client.scan(path)`."""

    _http_class = httpx.Client

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def scan(
        self,
        source: Source,
        *,
        filename: str | None = None,
        rule: str | None = None,
        archive_passwords: Sequence[str] = (),
        batch: str | None = None,
        size: int | None = None,
        progress: Callable[[int], None] | None = None,
        timeout: float = DEFAULT_WAIT,
    ) -> ScanReport:
        """Upload a file (path, bytes or binary file object, streamed) and wait for its final report."""
        return self._run(self._ops.scan(
            source, filename=filename, rule=rule, archive_passwords=archive_passwords, batch=batch,
            size=size, progress=progress, timeout=timeout,
        ))

    def submit(
        self,
        source: Source,
        *,
        filename: str | None = None,
        rule: str | None = None,
        archive_passwords: Sequence[str] = (),
        batch: str | None = None,
        size: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Submission:
        """Upload a file for analysis without waiting; `size` is needed only for streams that cannot seek."""
        return self._run(self._ops.submit(
            source, filename=filename, rule=rule, archive_passwords=archive_passwords, batch=batch,
            size=size, progress=progress,
        ))

    def result(self, data_id: str) -> ScanReport:
        """The current report of a data_id (raises NotFound for an unknown one)."""
        return self._run(self._ops.result(data_id))

    def wait(self, data_id: str, timeout: float = DEFAULT_WAIT) -> ScanReport:
        """Poll until the analysis of a data_id is done (raises ScanTimeout after `timeout` seconds)."""
        return self._run(self._ops.wait(data_id, timeout))

    def lookup(self, hash_: str) -> ScanReport | None:
        """The latest report for an md5/sha1/sha256/sha512, or None when the server does not know it."""
        return self._run(self._ops.lookup(hash_))

    def lookup_many(self, hashes: Iterable[str], *, details: bool = False) -> list[HashResult]:
        """Bulk hash lookup in chunks of 1000 (one lookup each where the server has no POST /hash)."""
        return self._run(self._ops.lookup_many(hashes, details))

    def create_batch(self, *, rule: str | None = None, user_data: str | None = None) -> str:
        """Open a batch and return its batch_id, to pass as `batch=` to submit() or scan()."""
        return self._run(self._ops.create_batch(rule, user_data))

    def close_batch(self, batch_id: str) -> BatchStatus:
        """Close a batch: no more files can join it."""
        return self._run(self._ops.close_batch(batch_id))

    def batch_status(self, batch_id: str) -> BatchStatus:
        """The status report of a batch."""
        return self._run(self._ops.batch_status(batch_id))

    def wait_batch(self, batch_id: str, timeout: float = DEFAULT_WAIT) -> BatchStatus:
        """Poll until a closed batch has finished."""
        return self._run(self._ops.wait_batch(batch_id, timeout))

    def download_sanitized(self, data_id: str, dest: str | os.PathLike) -> Path:
        """Stream the sanitized file of a data_id into `dest` (written whole or not at all)."""
        return self._run(self._ops.download_sanitized(data_id, Path(dest)))

    def engines(self) -> list[EngineInfo]:
        """The engines the server has (GET /stat/engines)."""
        return self._run(self._ops.engines())

    def _run(self, operation: Operation[T]) -> T:
        """Drive an operation with blocking I/O."""
        reply = None
        try:
            while True:
                reply = self._perform(operation.send(reply))
        except StopIteration as finished:
            return finished.value
        finally:
            operation.close()

    def _perform(self, step: Step) -> httpx.Response | None:
        """Sleep, or send one call and read (or save) its answer."""
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        content = step.upload.chunks() if step.upload else None
        with _connection_errors(step):
            with self._http.stream(
                step.method, step.url, headers=step.headers, json=step.json, content=content
            ) as response:
                if step.save_to is not None and response.status_code == 200:
                    with _writing(step.save_to) as out:
                        for chunk in response.iter_bytes():
                            out.write(chunk)
                else:
                    response.read()
        return response


class AsyncClient(_BaseClient):
    """The asyncio/trio twin of Client, with the same methods awaited: `async with AsyncClient(url) as client`."""

    _http_class = httpx.AsyncClient

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def scan(
        self,
        source: Source,
        *,
        filename: str | None = None,
        rule: str | None = None,
        archive_passwords: Sequence[str] = (),
        batch: str | None = None,
        size: int | None = None,
        progress: Callable[[int], None] | None = None,
        timeout: float = DEFAULT_WAIT,
    ) -> ScanReport:
        """Upload a file (path, bytes or binary file object, streamed) and wait for its final report."""
        return await self._run(self._ops.scan(
            source, filename=filename, rule=rule, archive_passwords=archive_passwords, batch=batch,
            size=size, progress=progress, timeout=timeout,
        ))

    async def submit(
        self,
        source: Source,
        *,
        filename: str | None = None,
        rule: str | None = None,
        archive_passwords: Sequence[str] = (),
        batch: str | None = None,
        size: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Submission:
        """Upload a file for analysis without waiting; `size` is needed only for streams that cannot seek."""
        return await self._run(self._ops.submit(
            source, filename=filename, rule=rule, archive_passwords=archive_passwords, batch=batch,
            size=size, progress=progress,
        ))

    async def result(self, data_id: str) -> ScanReport:
        """The current report of a data_id (raises NotFound for an unknown one)."""
        return await self._run(self._ops.result(data_id))

    async def wait(self, data_id: str, timeout: float = DEFAULT_WAIT) -> ScanReport:
        """Poll until the analysis of a data_id is done (raises ScanTimeout after `timeout` seconds)."""
        return await self._run(self._ops.wait(data_id, timeout))

    async def lookup(self, hash_: str) -> ScanReport | None:
        """The latest report for an md5/sha1/sha256/sha512, or None when the server does not know it."""
        return await self._run(self._ops.lookup(hash_))

    async def lookup_many(self, hashes: Iterable[str], *, details: bool = False) -> list[HashResult]:
        """Bulk hash lookup in chunks of 1000 (one lookup each where the server has no POST /hash)."""
        return await self._run(self._ops.lookup_many(hashes, details))

    async def create_batch(self, *, rule: str | None = None, user_data: str | None = None) -> str:
        """Open a batch and return its batch_id, to pass as `batch=` to submit() or scan()."""
        return await self._run(self._ops.create_batch(rule, user_data))

    async def close_batch(self, batch_id: str) -> BatchStatus:
        """Close a batch: no more files can join it."""
        return await self._run(self._ops.close_batch(batch_id))

    async def batch_status(self, batch_id: str) -> BatchStatus:
        """The status report of a batch."""
        return await self._run(self._ops.batch_status(batch_id))

    async def wait_batch(self, batch_id: str, timeout: float = DEFAULT_WAIT) -> BatchStatus:
        """Poll until a closed batch has finished."""
        return await self._run(self._ops.wait_batch(batch_id, timeout))

    async def download_sanitized(self, data_id: str, dest: str | os.PathLike) -> Path:
        """Stream the sanitized file of a data_id into `dest` (written whole or not at all)."""
        return await self._run(self._ops.download_sanitized(data_id, Path(dest)))

    async def engines(self) -> list[EngineInfo]:
        """The engines the server has (GET /stat/engines)."""
        return await self._run(self._ops.engines())

    async def _run(self, operation: Operation[T]) -> T:
        """Drive an operation with async I/O."""
        reply = None
        try:
            while True:
                reply = await self._perform(operation.send(reply))
        except StopIteration as finished:
            return finished.value
        finally:
            operation.close()

    async def _perform(self, step: Step) -> httpx.Response | None:
        """Sleep, or send one call and read (or save) its answer."""
        if isinstance(step, Sleep):
            await anyio.sleep(step.seconds)
            return None
        content = step.upload.achunks() if step.upload else None
        with _connection_errors(step):
            async with self._http.stream(
                step.method, step.url, headers=step.headers, json=step.json, content=content
            ) as response:
                if step.save_to is not None and response.status_code == 200:
                    with _writing(step.save_to) as out:
                        async for chunk in response.aiter_bytes():
                            out.write(chunk)
                else:
                    await response.aread()
        return response


@contextmanager
def _connection_errors(call: Call) -> Iterator[None]:
    """Turn httpx's network errors into ConnectionFailed naming the server."""
    try:
        yield
    except httpx.TransportError as exc:
        origin = httpx.URL(call.url).copy_with(path="/", query=None)
        raise ConnectionFailed(f"cannot reach {str(origin).rstrip('/')}: {exc or type(exc).__name__}") from exc


@contextmanager
def _writing(dest: Path) -> Iterator[BinaryIO]:
    """A file that becomes `dest` only once it is completely written."""
    part = dest.with_name(dest.name + ".part")
    try:
        with open(part, "wb") as out:
            yield out
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
