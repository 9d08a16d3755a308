"""The /admin/config/skip lists: whitelist (allow), blacklist (block) and skip (excuse engines)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, RowMapping, delete, select

from scanhive.store import changes
from scanhive.store.schema import hash_lists

LISTS = ("blacklist", "skip", "whitelist")


def replace_all(db: Engine, config: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Replace every list with `config` ({list: {hash: {"comment", "engines"?}}})."""
    with db.begin() as conn:
        conn.execute(delete(hash_lists))
        for name in LISTS:
            for digest, entry in config.get(name, {}).items():
                conn.execute(
                    hash_lists.insert().values(
                        hash=digest.lower(),
                        list=name,
                        comment=str(entry.get("comment", "")),
                        engines=list(entry.get("engines", [])) if name == "skip" else None,
                    )
                )
    changes.touch(db)


def as_config(db: Engine) -> dict[str, dict[str, dict[str, Any]]]:
    config: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in LISTS}
    with db.connect() as conn:
        for row in conn.execute(select(hash_lists)).mappings():
            entry: dict[str, Any] = {"comment": row["comment"]}
            if row["list"] == "skip":
                entry["engines"] = row["engines"] or []
            config[row["list"]][row["hash"]] = entry
    return config


def in_use(db: Engine) -> bool:
    """Whether any list has an entry (most deployments have none, so most files need no lookup)."""
    with db.connect() as conn:
        return conn.execute(select(hash_lists.c.hash).limit(1)).first() is not None


def entries_for(db: Engine, digests: Iterable[str]) -> list[RowMapping]:
    """The list entries naming any of a file's hashes."""
    with db.connect() as conn:
        return list(conn.execute(select(hash_lists).where(hash_lists.c.hash.in_([d.lower() for d in digests]))).mappings())
