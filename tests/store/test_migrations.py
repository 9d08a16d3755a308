"""open_database brings every database to the newest schema revision, once, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import multiprocessing
from logging.handlers import QueueHandler
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, Table, create_engine, event, inspect, select, text

from scanhive.analysis.report import detections
from scanhive.store import migrate
from scanhive.store.database import open_database
from scanhive.store.schema import jobs, metadata
from tests.store.conftest import MakeDatabase
from tests.store.samples import CLEAN, DETECTED, KNOWN_BAD_ONLY, UNWANTED, job

HEAD = ScriptDirectory.from_config(migrate.config()).get_current_head()


def _revision(db: Engine) -> str | None:
    with db.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _shape(db: Engine) -> dict[str, Any]:
    """Every table's columns, keys and indexes as the database reports them (Alembic's own table aside)."""
    inspector = inspect(db)
    return {
        table: {
            "columns": sorted((c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in inspector.get_columns(table)),
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(u["column_names"] for u in inspector.get_unique_constraints(table)),
            "foreign_keys": [(f["constrained_columns"], f["referred_table"], f["options"]) for f in inspector.get_foreign_keys(table)],
            "indexes": sorted((i["name"], i["column_names"], i["unique"]) for i in inspector.get_indexes(table)),
        }
        for table in sorted(inspector.get_table_names())
        if table != "alembic_version"
    }


def _made_before_migrations(url: str) -> Engine:
    """A database as ScanHive made it before migrations: the baseline's tables, no alembic_version."""
    db = create_engine(url)
    with db.begin() as conn:
        command.upgrade(migrate.config(conn), migrate.BASELINE)
        conn.execute(text("DROP TABLE alembic_version"))
    return db


def test_new_database_gets_the_schema_create_all_makes(make_database: MakeDatabase) -> None:
    migrated = open_database(make_database())
    created = create_engine(make_database())
    metadata.create_all(created)
    assert _revision(migrated) == HEAD
    assert _shape(migrated) == _shape(created)
    with migrated.connect() as conn:  # and Alembic finds nothing in schema.py the revisions lack
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    migrated.dispose()
    created.dispose()


#: seq -> (state, result) of the jobs in a database made before migrations. The gaps in seq put
#: them in several of the backfill's batches (10,000 seq values each).
_OLD_JOBS: dict[int, tuple[str, dict[str, Any] | None]] = {
    1: ("done", DETECTED),
    2: ("done", CLEAN),
    9_999: ("done", KNOWN_BAD_ONLY),
    10_000: ("done", UNWANTED),
    10_001: ("done", {"file_type": {}, "engines": {}}),
    25_000: ("queued", None),
    30_000: ("waiting", DETECTED),
}


def _add_old_jobs(db: Engine) -> None:
    old_jobs = Table("jobs", MetaData(), autoload_with=db)
    with db.begin() as conn:
        rows = [{**job(seq), "seq": seq, "attempts": 0, "state": state, "result": result} for seq, (state, result) in _OLD_JOBS.items()]
        conn.execute(old_jobs.insert(), rows)


def test_database_made_before_migrations_is_stamped_then_upgraded_and_backfilled(make_database: MakeDatabase) -> None:
    url = make_database()
    old = _made_before_migrations(url)
    _add_old_jobs(old)
    old.dispose()
    db = open_database(url)
    assert _revision(db) == HEAD
    with db.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        counts = dict(conn.execute(select(jobs.c.seq, jobs.c.total_detected_avs)).all())
    assert counts == {seq: detections(result) if state == "done" else None for seq, (state, result) in _OLD_JOBS.items()}
    assert [counts[seq] for seq in (1, 2, 9_999, 10_000, 10_001)] == [2, 0, 0, 1, 0]
    db.dispose()


def test_opening_a_database_at_head_only_reads(make_database: MakeDatabase) -> None:
    db = open_database(make_database())
    statements: list[str] = []
    event.listen(db, "before_cursor_execute", lambda _c, _cur, statement, *_: statements.append(statement))
    migrate.upgrade(db)
    assert statements, "the revision was not even read"
    assert all(s.lstrip().upper().startswith(("SELECT", "PRAGMA")) for s in statements), statements
    assert not any("pg_advisory_xact_lock" in s or "busy_timeout" in s for s in statements), "it took the lock"
    assert _revision(db) == HEAD
    db.dispose()


def test_database_of_a_newer_scanhive_is_refused(make_database: MakeDatabase) -> None:
    url = make_database()
    db = open_database(url)
    with db.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    db.dispose()
    with pytest.raises(migrate.SchemaTooNew, match=r"revision '9999', which ScanHive .* does not know: a newer ScanHive"):
        open_database(url)


def _open_together(url: str, barrier: Any, records: Any) -> None:
    """In a process of its own: open the database with the others, sending what it migrated to `records`."""
    logger = logging.getLogger(migrate.__name__)
    logger.setLevel(logging.INFO)
    logger.addHandler(QueueHandler(records))
    barrier.wait()
    open_database(url).dispose()


@pytest.mark.parametrize("made_before", [False, True], ids=["new", "made-before-migrations"])
def test_processes_opening_at_once_migrate_once(make_database: MakeDatabase, made_before: bool) -> None:
    url = make_database()
    if made_before:
        old = _made_before_migrations(url)
        _add_old_jobs(old)
        old.dispose()
    context = multiprocessing.get_context("spawn")
    barrier, records = context.Barrier(4), context.Queue()
    processes = [context.Process(target=_open_together, args=(url, barrier, records)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    migrations = []
    while not records.empty():
        migrations.append(records.get().getMessage())
    assert len(migrations) == 1, migrations
    db = create_engine(url)
    assert _revision(db) == HEAD
    db.dispose()
