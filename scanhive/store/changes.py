"""A file beside the SQLite database that is rewritten whenever the admin configuration changes.

The API and the workers keep the engine switches and whether any skip list entry exists
(store/admin_config.py) instead of querying them per file; writers rewrite this file after
committing, so a change applies to the next file. Other databases have no such file (API and
workers need not share a directory with them), and there nothing is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine

from scanhive.caching import Expiring

T = TypeVar("T")
#: Longest a process keeps a value, in case a rewrite of the marker went unseen.
MAX_AGE = 1.0


def marker_path(db: Engine) -> Path | None:
    """The marker file of a SQLite database file; None for other databases."""
    database = db.url.database if db.url.get_backend_name() == "sqlite" else None
    return Path(f"{database}.config-changed") if database and database != ":memory:" else None


def touch(db: Engine) -> None:
    """Call after committing a change to engine switches or skip lists."""
    path = marker_path(db)
    if path is not None:
        path.write_text(uuid.uuid4().hex)  # new content, not only a new mtime, which can repeat within a tick


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:  # nothing changed since the database was created
        return ""


def cached(db: Engine, load: Callable[[], T]) -> Expiring[T]:
    """`load()` kept until the admin configuration changes (always loaded anew without a marker)."""
    path = marker_path(db)
    if path is None:
        return Expiring(load, 0.0)
    return Expiring(load, MAX_AGE, partial(_read, path))
