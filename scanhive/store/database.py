"""Opening the results database: SQLite (WAL) in the data dir by default, PostgreSQL by URL."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event

from scanhive.store import migrate

#: The API's threadpool (AnyIO's default limit), all of whose threads may use the database at once.
_THREADPOOL_SIZE = 40
#: WAL pages after which a committing connection copies the log into the database itself
#: (SQLite's default: 1000). Only a backstop: `checkpoint` does it in the background well before.
_WAL_BACKSTOP_PAGES = 20_000
#: How long a new connection keeps trying to put a new database in WAL mode (seconds).
_SWITCH_TIMEOUT = 30.0


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while workers write; busy_timeout makes writers wait instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    _use_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA wal_autocheckpoint={_WAL_BACKSTOP_PAGES}")
    cursor.close()


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Put the database in WAL mode, which it keeps from then on (a no-op once it is)."""
    # Switching needs the database to itself. While another connection holds a write lock (or
    # is switching too), SQLite answers "locked" at once, whatever the busy timeout, as waiting
    # could deadlock. Seen in CI: four processes opening one new database together.
    deadline = time.monotonic() + _SWITCH_TIMEOUT
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            if cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("could not switch the database to WAL mode: it stayed locked")
        time.sleep(0.05)


def _load_json(text: str | bytes) -> Any:
    """Decode a stored JSON column: orjson is 2-3x faster on analysis records than json."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN and Infinity, which json.dumps (the serializer) writes
        return json.loads(text)


def open_database(url: str) -> Engine:
    """Connect and bring the schema to the newest revision (creating it in a new database)."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_deserializer=_load_json,
            pool_size=_THREADPOOL_SIZE,  # beyond the pool, connections are closed and opened again per use
        )
        event.listen(engine, "connect", _tune_sqlite)
    else:
        engine = create_engine(url, pool_pre_ping=True, json_deserializer=_load_json)
    migrate.upgrade(engine)
    return engine


def analyze(db: Engine) -> None:
    """Gather SQLite's planner statistics (at server start; ~0.5 s per million jobs)."""
    # They steer the planner for every query; lookups by hash are also kept on their index without
    # them (see jobs._STATE_UNINDEXED). PostgreSQL's autovacuum keeps its own.
    if db.dialect.name == "sqlite":
        with db.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def optimize(db: Engine) -> None:
    """Refresh SQLite's statistics of tables that have none or grew a lot since (cheap, periodic)."""
    # 0x10000 makes SQLite >= 3.46 check every table (and 0x10 bounds the work on large ones);
    # older versions ignore both and check only the tables this pooled connection has queried,
    # so there a table may stay without statistics (measured on 3.40: jobs did).
    if db.dialect.name == "sqlite":
        with db.begin() as conn:
            conn.exec_driver_sql("PRAGMA optimize=0x10012")


def checkpoint(db: Engine) -> None:
    """Copy SQLite's write-ahead log into the database (called every 0.5 s; a no-op when nothing is new).

    With SQLite's automatic checkpoints, every ~30th commit of an upload or a result did this
    itself, syncing the disk twice: 15-20 ms added to that request or job. A passive checkpoint
    waits for no reader or writer.
    """
    if db.dialect.name == "sqlite":
        with db.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
