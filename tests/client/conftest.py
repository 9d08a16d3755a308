"""Fixtures: a FakeCore test peer per test, and a runner for the `scanhive` client commands."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from scanhive.cli import app
from tests.client.fake_core import INFECTED_MARKER, FakeCore, serve


@pytest.fixture
def core() -> FakeCore:
    """The peer's state, fresh for each test."""
    return FakeCore()


@pytest.fixture
def url(core: FakeCore) -> Iterator[str]:
    """The URL of the running peer."""
    with serve(core) as address:
        yield address


@pytest.fixture
def dead_url() -> str:
    """A URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A clean and an infected file."""
    clean = tmp_path / "clean.txt"
    clean.write_bytes(b"hello world\n")
    infected = tmp_path / "bad.exe"
    infected.write_bytes(b"MZ...." + INFECTED_MARKER + b"....")
    return {"clean": clean, "infected": infected}


def run_cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    """Run `scanhive ARGS...` in-process; stdout and stderr are kept apart."""
    clean_env: dict[str, str | None] = {"COLUMNS": "200", "SCANHIVE_URL": None, "SCANHIVE_APIKEY": None}
    return CliRunner().invoke(app, list(args), input=stdin, env={**clean_env, **(env or {})})
