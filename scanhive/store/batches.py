"""Batches: a named group of submissions with its own rule, closed when complete."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from sqlalchemy import Engine, RowMapping, func, select, update

from scanhive.store.schema import batches, jobs


def create(db: Engine, rule: str, user_agent: str, username: str, user_data: str) -> str:
    batch_id = uuid.uuid4().hex
    with db.begin() as conn:
        conn.execute(
            batches.insert().values(
                batch_id=batch_id,
                rule=rule,
                user_agent=user_agent,
                username=username,
                user_data=user_data,
                is_closed=False,
                created_ts=time.time(),
            )
        )
    return batch_id


def get(db: Engine, batch_id: str) -> RowMapping | None:
    with db.connect() as conn:
        return conn.execute(select(batches).where(batches.c.batch_id == batch_id)).mappings().first()


def close(db: Engine, batch_id: str) -> None:
    with db.begin() as conn:
        conn.execute(update(batches).where(batches.c.batch_id == batch_id).values(is_closed=True))


def files(db: Engine, batch_id: str, first: int, size: int) -> tuple[int, Sequence[RowMapping]]:
    """(total count, one page) of the files submitted to the batch (not their extracted children)."""
    mine = (jobs.c.batch_id == batch_id, jobs.c.parent_data_id.is_(None))
    with db.connect() as conn:
        total = conn.execute(select(func.count()).select_from(jobs).where(*mine)).scalar_one()
        page = conn.execute(select(jobs).where(*mine).order_by(jobs.c.seq).offset(first).limit(size)).mappings().all()
    return int(total), page


def summary(db: Engine, batch_id: str) -> tuple[list[int | None], float | None, float | None]:
    """Every file's final code (None while unfinished), the first start and the last end time."""
    mine = (jobs.c.batch_id == batch_id, jobs.c.parent_data_id.is_(None))
    with db.connect() as conn:
        rows = conn.execute(select(jobs.c.scan_all_result_i, jobs.c.state, jobs.c.start_ts, jobs.c.end_ts).where(*mine)).all()
    codes = [row.scan_all_result_i if row.state == "done" else None for row in rows]
    starts = [row.start_ts for row in rows if row.start_ts]
    ends = [row.end_ts for row in rows if row.end_ts]
    return codes, min(starts, default=None), max(ends, default=None)


def unfinished(db: Engine, batch_id: str) -> list[str]:
    with db.connect() as conn:
        query = select(jobs.c.data_id).where(jobs.c.batch_id == batch_id, jobs.c.state != "done")
        return list(conn.execute(query).scalars())
