"""Engine switches and skip lists as each process keeps them between uses (see store/changes.py)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from sqlalchemy import Engine, RowMapping

from scanhive.store import changes, engine_switches, hash_lists
from scanhive.store.engine_switches import Switches


class AdminConfig:
    """Read per file by the API and the workers, changed rarely: kept until an admin changes them."""

    def __init__(self, db: Engine) -> None:
        self._db = db
        self._switches = changes.cached(db, partial(engine_switches.all_switches, db))
        self._lists_in_use = changes.cached(db, partial(hash_lists.in_use, db))

    def switches(self) -> dict[str, Switches]:
        """eng_id -> its switches, for engines an admin ever switched."""
        return self._switches.get()

    def list_entries(self, digests: Iterable[str]) -> list[RowMapping]:
        """The skip list entries naming any of a file's hashes (no query while the lists are empty)."""
        return hash_lists.entries_for(self._db, digests) if self._lists_in_use.get() else []
