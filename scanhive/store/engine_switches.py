"""Persistent engine switches: enabled/disabled and pinned/unpinned, per eng_id."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from scanhive.store import changes
from scanhive.store.schema import engine_switches


@dataclass(frozen=True)
class Switches:
    enabled: bool = True
    pinned: bool = False


def all_switches(db: Engine) -> dict[str, Switches]:
    with db.connect() as conn:
        rows = conn.execute(select(engine_switches)).all()
    return {row.eng_id: Switches(bool(row.enabled), bool(row.pinned)) for row in rows}


def set_switch(db: Engine, eng_id: str, **values: bool) -> None:
    """Set enabled= and/or pinned= for an engine, creating its row on first use."""
    with db.begin() as conn:
        changed = conn.execute(update(engine_switches).where(engine_switches.c.eng_id == eng_id).values(**values)).rowcount
        if not changed:
            conn.execute(engine_switches.insert().values(eng_id=eng_id, **{"enabled": True, "pinned": False, **values}))
    changes.touch(db)


def is_pinned(db: Engine, eng_id: str) -> bool:
    """Whether an admin pinned the engine's definitions where they are."""
    with db.connect() as conn:
        return bool(conn.execute(select(engine_switches.c.pinned).where(engine_switches.c.eng_id == eng_id)).scalar())
