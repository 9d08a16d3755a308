"""Known-bad and known-good hashes (the hash reputation engine's database)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import Engine, RowMapping, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from scanhive.store.schema import reputation

BAD, GOOD = "bad", "good"


def upsert(db: Engine, entries: Iterable[tuple[str, str, str]], source: str) -> int:
    """Store (hash, verdict, threat_name) entries; a later import of a hash replaces the earlier."""
    insert = pg_insert if db.dialect.name == "postgresql" else sqlite_insert
    now = time.time()
    rows = [{"hash": h.lower(), "verdict": v, "threat_name": t, "source": source, "imported_ts": now} for h, v, t in entries]
    if not rows:
        return 0
    statement = insert(reputation)
    statement = statement.on_conflict_do_update(
        index_elements=[reputation.c.hash],
        set_={
            "verdict": statement.excluded.verdict,
            "threat_name": statement.excluded.threat_name,
            "source": statement.excluded.source,
            "imported_ts": statement.excluded.imported_ts,
        },
    )
    with db.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(statement, rows[start : start + 5000])
    return len(rows)


def lookup(db: Engine, digests: Iterable[str]) -> RowMapping | None:
    """The reputation entry for any of a file's hashes (known-bad first, named threats first)."""
    query = select(reputation).where(reputation.c.hash.in_([d.lower() for d in digests]))
    with db.connect() as conn:
        rows = list(conn.execute(query).mappings())
    return min(rows, key=lambda r: (r["verdict"] != BAD, r["threat_name"] == ""), default=None)


def last_import(db: Engine) -> float | None:
    """When the reputation data last changed (its definition time)."""
    with db.connect() as conn:
        return conn.execute(select(func.max(reputation.c.imported_ts))).scalar_one()
