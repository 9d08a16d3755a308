"""Durable callbackurl deliveries: a row per finished job that asked for one."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, RowMapping, select, update

from scanhive.store.schema import jobs, webhooks

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def enqueue_for(conn: Connection, data_ids: Sequence[str]) -> None:
    """Within a job-finishing transaction: schedule the callbacks those jobs asked for."""
    if not data_ids:
        return
    rows = conn.execute(
        select(jobs.c.data_id, jobs.c.callbackurl).where(
            jobs.c.data_id.in_(list(data_ids)), jobs.c.callbackurl.is_not(None)
        )
    ).all()
    for data_id, url in rows:
        schedule(conn, data_id, url)


def schedule(conn: Connection, data_id: str, url: str) -> None:
    """Within a job-finishing transaction: deliver the job's report to `url`."""
    conn.execute(webhooks.insert().values(data_id=data_id, url=url, state=PENDING, attempts=0, next_ts=0.0))


def due(db: Engine, limit: int = 20) -> Sequence[RowMapping]:
    query = (
        select(webhooks)
        .where(webhooks.c.state == PENDING, webhooks.c.next_ts <= time.time())
        .order_by(webhooks.c.next_ts)
        .limit(limit)
    )
    with db.connect() as conn:
        return conn.execute(query).mappings().all()


def record_attempt(db: Engine, data_id: str, status_code: int | None, state: str, next_ts: float) -> None:
    with db.begin() as conn:
        conn.execute(
            update(webhooks)
            .where(webhooks.c.data_id == data_id)
            .values(
                attempts=webhooks.c.attempts + 1,
                request_time=time.time(),
                status_code=status_code,
                state=state,
                next_ts=next_ts,
            )
        )


def get(db: Engine, data_id: str) -> RowMapping | None:
    with db.connect() as conn:
        return conn.execute(select(webhooks).where(webhooks.c.data_id == data_id)).mappings().first()
