"""Bringing a database's schema to the newest revision (Alembic) at start: one process migrates.

The API and every worker call `upgrade` as they start, often at the same moment. Whoever finds
the database behind takes a lock, checks again and migrates; the others wait on the lock, then
find the database at the newest revision. Migrations go forward only.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, inspect, select

from scanhive import __version__

log = logging.getLogger(__name__)
#: Alembic's INFO lines (its plugins and dialect at every check, each revision run) would be printed
#: by every process at every start; the migrations are logged here instead.
logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS = Path(__file__).with_name("migrations")
#: The schema as it was before there were migrations: databases made then are stamped with it.
BASELINE = "0001"
#: PostgreSQL advisory lock key of migrations ("SCANHIVE" in ASCII).
_PG_LOCK_KEY = 0x5343414E48495645
#: How long a process waits for another one's SQLite migration (a big backfill takes minutes).
_SQLITE_WAIT_MS = 3_600_000


class SchemaTooNew(RuntimeError):
    """The database is at a revision this ScanHive does not know: a newer ScanHive migrated it."""


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code: the scripts in this package, run on `connection`."""
    alembic_config = Config()
    alembic_config.set_main_option("script_location", str(MIGRATIONS))
    alembic_config.attributes["connection"] = connection
    return alembic_config


def upgrade(db: Engine) -> None:
    """Bring `db` to the newest revision: a new one through all of them, one made before migrations from 0001."""
    script = ScriptDirectory.from_config(config())
    head = script.get_current_head()
    with db.connect() as conn:
        if _current(conn, script) == head:
            return  # every start but the first after an upgrade: one read, no lock
    with db.connect() as conn:
        _lock(conn)
        current = _current(conn, script)
        if current != head:
            migrating = config(conn)
            if current is None and inspect(conn).has_table("jobs"):
                command.stamp(migrating, BASELINE)  # created by metadata.create_all before migrations
                current = BASELINE
            log.info("migrating the database schema from revision %s to %s", current or "(none: new)", head)
            command.upgrade(migrating, "head")
        conn.commit()


def _current(conn: Connection, script: ScriptDirectory) -> str | None:
    """The database's revision (None before any), refusing one this code does not know."""
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is not None and revision not in {known.revision for known in script.walk_revisions()}:
        raise SchemaTooNew(
            f"The database schema is at revision {revision!r}, which ScanHive {__version__} does not know: "
            "a newer ScanHive has migrated it. Run that version (or newer), or restore a backup made before it."
        )
    return revision


def _lock(conn: Connection) -> None:
    """Begin the migrating transaction holding the right to migrate; other callers wait here until it ends."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    elif dialect == "sqlite":  # the write lock: the loser's BEGIN IMMEDIATE waits for the winner's commit
        previous = conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {_SQLITE_WAIT_MS}")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {previous}")
    else:
        raise ValueError(f"ScanHive's database is SQLite or PostgreSQL, not {dialect}")
