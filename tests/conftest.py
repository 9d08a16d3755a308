"""Shared fixtures: real ScanHive servers (the default one, and ones configured per test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.server import ADMIN_PASSWORD, ScanHiveServer


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScanHiveServer]:
    """One default server shared by the tests that do not need a special configuration."""
    instance = ScanHiveServer(tmp_path_factory.mktemp("default") / "data").start()
    yield instance
    instance.stop()


@pytest.fixture
def api(server: ScanHiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., ScanHiveServer]]:
    """Start servers with their own settings; all are stopped after the test."""
    started: list[ScanHiveServer] = []

    def make(
        env: dict[str, str] | None = None,
        workers: int = 2,
        name: str = "data",
        wait_ready: bool = True,
        admin_password: str | None = ADMIN_PASSWORD,
    ) -> ScanHiveServer:
        instance = ScanHiveServer(tmp_path / name, env=env, workers=workers, admin_password=admin_password)
        started.append(instance)
        return instance.start(wait_ready=wait_ready)

    yield make
    for instance in started:
        instance.stop()
