"""Throwaway databases of each kind ScanHive supports: a SQLite file, a PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

#: A PostgreSQL server the tests may create and drop databases on (its database is only connected to).
POSTGRES_URL = os.environ.get("SCANHIVE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

MakeDatabase = Callable[[], str]


@pytest.fixture(params=["sqlite", "postgresql"])
def make_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeDatabase]:
    """Makes empty databases of the parametrized kind and returns their URLs; they are dropped after the test."""
    if request.param == "sqlite":
        yield lambda: f"sqlite:///{tmp_path / uuid.uuid4().hex}.db"
        return
    server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        server.connect().close()
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL} (set SCANHIVE_TEST_POSTGRES_URL): {exc}")
    made: list[str] = []

    def make() -> str:
        name = f"scanhive_mig_{uuid.uuid4().hex[:12]}"
        with server.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        made.append(name)
        return server.url.set(database=name).render_as_string(hide_password=False)

    yield make
    with server.connect() as conn:
        for name in made:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    server.dispose()
