"""Seeding the jobs table with many finished results, modelled on one real finished job row.

The rows are written straight into SQLite (the server must be stopped) into the `jobs` table the
server created from `scanhive.store.schema`: its indexes are dropped, the rows inserted in one
transaction, and the indexes built again from their stored definitions, which is much faster than
growing them row by row. Every row gets the real hashes of a distinct small content, so the hashes
are realistic and can be recomputed to look rows up.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

_BATCH = 20_000
_NAMES = ("invoice.pdf", "setup.exe", "report.docx", "photo.png", "data.csv", "export.json", "archive.zip")


def content(seed: int, index: int) -> bytes:
    """The (never stored) content whose hashes seeded row `index` carries."""
    return f"scanhive-bench-seed:{seed}:{index}".encode()


def digests(seed: int, index: int) -> dict[str, str]:
    """md5, sha1, sha256 and sha512 of seeded row `index`."""
    data = content(seed, index)
    return {name: hashlib.new(name, data).hexdigest() for name in ("md5", "sha1", "sha256", "sha512")}


def template(db_path: Path) -> dict[str, Any]:
    """The newest finished job row, as stored (result JSON kept as its text)."""
    with closing(sqlite3.connect(db_path)) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM jobs WHERE state = 'done' ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        raise RuntimeError(f"no finished job in {db_path} to model the seeded rows on")
    return dict(row)


def _rows(model: dict[str, Any], columns: list[str], rows: int, seed: int) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    start = time.time() - rows * 0.05
    for index in range(rows):
        row = dict(model)
        upload_ts = start + index * 0.05
        data_id = uuid.UUID(int=rng.getrandbits(128)).hex
        row.update(digests(seed, index))
        row.update(
            data_id=data_id,
            storage_key=data_id,
            display_name=rng.choice(_NAMES),
            file_size=int(2 ** rng.uniform(10, 20)),
            upload_ts=upload_ts,
            start_ts=upload_ts + 0.01,
            end_ts=upload_ts + 0.05,
        )
        yield tuple(row[name] for name in columns)


def seed_jobs(db_path: Path, rows: int, seed: int) -> dict[str, Any]:
    """Add `rows` finished jobs like the newest real one; returns what was done and how long it took."""
    began = time.perf_counter()
    model = template(db_path)
    columns = [name for name in model if name != "seq"]
    statement = f"INSERT INTO jobs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=OFF")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        batch: list[tuple[Any, ...]] = []
        for row in _rows(model, columns, rows, seed):
            batch.append(row)
            if len(batch) == _BATCH:
                conn.executemany(statement, batch)
                batch = []
        conn.executemany(statement, batch)
        for _, sql in indexes:
            conn.execute(sql)
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    return {
        "rows": rows,
        "seed": seed,
        "seconds": round(time.perf_counter() - began, 1),
        "db_mib": round(db_path.stat().st_size / 1024**2),
        "modelled_on": model["data_id"],
    }
