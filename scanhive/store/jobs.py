"""Reading and writing job rows: the durable queue and the results it ends in."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Engine,
    RowMapping,
    Select,
    bindparam,
    case,
    exists,
    func,
    null,
    or_,
    select,
    update,
)

from scanhive.analysis.report import detections
from scanhive.store import webhooks
from scanhive.store.schema import DONE, QUEUED, RUNNING, WAITING, hash_lists, jobs

HASH_COLUMNS = {32: jobs.c.md5, 40: jobs.c.sha1, 64: jobs.c.sha256, 128: jobs.c.sha512}
#: `state` in a form no index matches, for queries that look files up by hash. With statistics
#: older than the table (SQLite's are gathered at start and refreshed only after large growth)
#: the planner rates `state = 'done'` as selective as a hash and walks ix_jobs_state_seq through
#: every newer job; `state || ''` (SQLite's documented way to keep a term off an index) leaves it
#: the hash index, whatever the statistics say.
_STATE_UNINDEXED = jobs.c.state.concat("")


#: Statements run per upload are built once, with their values passed as parameters: building
#: them (and SQLAlchemy's cache key of inline values) costs more than running them on SQLite.
_INSERT = jobs.insert()


def insert(db: Engine, **values: Any) -> None:
    """Record a new job; from here on its data_id survives any crash."""
    with db.begin() as conn:
        conn.execute(_INSERT, {"state": QUEUED, "attempts": 0, **values})


def _outcome(code: int, result: dict[str, Any]) -> dict[str, Any]:
    """A finished job's result columns: its code, its record and the record's count of detections."""
    return {"scan_all_result_i": code, "result": result, "total_detected_avs": detections(result)}


def insert_finished(
    db: Engine, code: int, result: dict[str, Any], copies: Sequence[dict[str, Any]], **values: Any
) -> None:
    """Record a job final from the start (a reused result), with `copies` of its descendants' rows.

    Only the job itself may have a callback; it is scheduled as in `finish`.
    """
    now = time.time()
    final = {"state": DONE, "attempts": 0, "start_ts": now, "end_ts": now}
    with db.begin() as conn:
        conn.execute(_INSERT, {**final, **_outcome(code, result), **_sql_nulls(values)})
        if copies:  # one executemany, in the given order: siblings are listed by seq
            counted = [{**copy, "total_detected_avs": detections(copy["result"])} for copy in copies]
            conn.execute(_INSERT, [{**final, "upload_ts": now, **_sql_nulls(copy)} for copy in counted])
        if values.get("callbackurl"):
            webhooks.schedule(conn, values["data_id"], values["callbackurl"])


def _sql_nulls(values: dict[str, Any]) -> dict[str, Any]:
    """`values` with a None extraction as SQL NULL, which the JSON type would store as JSON `null`."""
    return {**values, "extraction": null() if values.get("extraction") is None else values["extraction"]}


_REUSABLE = (
    select(
        jobs.c.data_id,
        jobs.c.display_name,
        jobs.c.scan_all_result_i,
        jobs.c.result,
        jobs.c.extraction,
        jobs.c.archive_passwords,
        jobs.c.storage_key,
    )
    .where(
        jobs.c.sha256 == bindparam("sha256"),
        jobs.c.rule == bindparam("rule"),
        _STATE_UNINDEXED == DONE,
        jobs.c.parent_data_id.is_(None),
        jobs.c.end_ts >= bindparam("since_ts"),
        jobs.c.scan_all_result_i.not_in(bindparam("excluded", expanding=True)),
    )
    .order_by(jobs.c.seq.desc())
    .limit(1)
)


def latest_reusable(db: Engine, sha256: str, rule: str, since_ts: float, excluded: Sequence[int]) -> RowMapping | None:
    """The newest upload of `sha256` under `rule` done since `since_ts` whose result is not `excluded`."""
    values = {"sha256": sha256, "rule": rule, "since_ts": since_ts, "excluded": list(excluded)}
    with db.connect() as conn:
        return conn.execute(_REUSABLE, values).mappings().first()


def _descendants_query() -> Select[Any]:
    """Every job below `root`, oldest first, each with `listed`: whether a hash list names it now."""
    tree = select(jobs.c.data_id).where(jobs.c.parent_data_id == bindparam("root")).cte("tree", recursive=True)
    tree = tree.union_all(select(jobs.c.data_id).where(jobs.c.parent_data_id == tree.c.data_id))
    hashes = [jobs.c.md5, jobs.c.sha1, jobs.c.sha256, jobs.c.sha512]
    listed = exists().where(hash_lists.c.hash.in_(hashes)).label("listed")
    return select(jobs, listed).join(tree, tree.c.data_id == jobs.c.data_id).order_by(jobs.c.seq)


_DESCENDANTS = _descendants_query()


def descendants(db: Engine, data_id: str) -> Sequence[RowMapping]:
    """An archive's extracted files at all depths, oldest first (so after their parents)."""
    with db.connect() as conn:
        return conn.execute(_DESCENDANTS, {"root": data_id}).mappings().all()


_BY_DATA_ID = select(jobs).where(jobs.c.data_id == bindparam("data_id"))


def get(db: Engine, data_id: str) -> RowMapping | None:
    with db.connect() as conn:
        return conn.execute(_BY_DATA_ID, {"data_id": data_id}).mappings().first()


_PENDING = select(func.count()).select_from(jobs).where(jobs.c.state.in_([QUEUED, RUNNING]))


def pending_count(db: Engine) -> int:
    """Jobs queued or running (what the queue limit counts)."""
    with db.connect() as conn:
        return int(conn.execute(_PENDING).scalar_one())


_OLDEST_QUEUED = (
    select(jobs.c.seq)
    .where(jobs.c.state == QUEUED)
    .order_by(jobs.c.seq)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_CLAIM = (
    update(jobs)
    .where(jobs.c.seq == _OLDEST_QUEUED, jobs.c.state == QUEUED)
    .values(
        state=RUNNING,
        worker=bindparam("worker"),
        attempts=jobs.c.attempts + 1,
        start_ts=func.coalesce(jobs.c.start_ts, bindparam("now")),
    )
    .returning(*jobs.c)
)


def claim(db: Engine, worker: str) -> RowMapping | None:
    """Atomically take the oldest queued job for `worker`, or None when the queue is empty."""
    with db.begin() as conn:
        return conn.execute(_CLAIM, {"worker": worker, "now": time.time()}).mappings().first()


#: Decides an archive's final (code, record) from its own job row and its children's codes.
Conclude = Callable[[RowMapping, list[int]], tuple[int, dict[str, Any]]]


_FINISH = (
    update(jobs)
    .where(jobs.c.data_id == bindparam("id"), jobs.c.state.in_([QUEUED, RUNNING]))
    .values(
        state=bindparam("state"),
        end_ts=bindparam("end_ts"),
        scan_all_result_i=bindparam("scan_all_result_i"),
        result=bindparam("result"),
        total_detected_avs=bindparam("total_detected_avs"),
    )
    .returning(jobs.c.parent_data_id, jobs.c.callbackurl)
)


def finish(
    db: Engine,
    data_id: str,
    scan_all_result_i: int,
    result: dict[str, Any],
    conclude: Conclude,
    waiting: bool = False,
) -> bool:
    """Store a job's result: final, or (`waiting`) its own while its children are analyzed.

    Returns False when the job was finished meanwhile (cancelled). Finishing the last child of a
    waiting archive concludes the archive, and so on up the tree, in the same transaction.
    """
    values = {
        "id": data_id,
        "state": WAITING if waiting else DONE,
        "end_ts": time.time(),
        **_outcome(scan_all_result_i, result),
    }
    with db.begin() as conn:
        finished = conn.execute(_FINISH, values).first()
        if finished is None:
            return False
        if waiting:
            _roll_up(conn, data_id, conclude)
        else:
            if finished.callbackurl:
                webhooks.schedule(conn, data_id, finished.callbackurl)
            _roll_up(conn, finished.parent_data_id, conclude)
    return True


def _roll_up(conn: Connection, data_id: str | None, conclude: Conclude) -> None:
    """Conclude waiting archives whose children are all done, from `data_id` upwards."""
    while data_id is not None:
        parent = conn.execute(select(jobs).where(jobs.c.data_id == data_id).with_for_update()).mappings().first()
        if parent is None or parent["state"] != WAITING:
            return
        children_states = conn.execute(
            select(jobs.c.state, jobs.c.scan_all_result_i).where(jobs.c.parent_data_id == data_id)
        ).all()
        if any(state != DONE for state, _ in children_states):
            return
        code, record = conclude(parent, [child_code for _, child_code in children_states])
        conn.execute(
            update(jobs)
            .where(jobs.c.data_id == data_id)
            .values(state=DONE, end_ts=time.time(), **_outcome(code, record))
        )
        webhooks.enqueue_for(conn, [data_id])
        data_id = parent["parent_data_id"]


def record_children(db: Engine, parent_data_id: str, extraction: dict[str, Any], children: list[dict[str, Any]]) -> None:
    """Queue an archive's extracted children and remember the extraction, atomically."""
    with db.begin() as conn:
        if children:
            queued = {"state": QUEUED, "attempts": 0, "parent_data_id": parent_data_id}
            conn.execute(_INSERT, [{**queued, **child} for child in children])
        conn.execute(update(jobs).where(jobs.c.data_id == parent_data_id).values(extraction=extraction))


def children_page(db: Engine, parent_data_id: str, first: int, size: int) -> tuple[Sequence[RowMapping], list[tuple[str, int | None]]]:
    """One page of an archive's direct children, and (data_id, final code or None) of all of them."""
    with db.connect() as conn:
        everyone = conn.execute(
            select(jobs.c.data_id, jobs.c.state, jobs.c.scan_all_result_i)
            .where(jobs.c.parent_data_id == parent_data_id)
            .order_by(jobs.c.seq)
        ).all()
        page = conn.execute(
            select(jobs).where(jobs.c.parent_data_id == parent_data_id).order_by(jobs.c.seq).offset(first).limit(size)
        ).mappings().all()
    return page, [(row.data_id, row.scan_all_result_i if row.state == DONE else None) for row in everyone]


def requeue(db: Engine, workers: Iterable[str] | None = None) -> int:
    """Put running jobs back in the queue: those of `workers`, or all of them (after a restart)."""
    query = update(jobs).where(jobs.c.state == RUNNING)
    if workers is not None:
        query = query.where(jobs.c.worker.in_(list(workers)))
    with db.begin() as conn:
        return conn.execute(query.values(state=QUEUED, worker=None)).rowcount


def _by_hash(column: Any, done: bool) -> Select[Any]:
    """GET /hash's query on one hash column: the newest (finished, if `done`) job of a digest.

    Its options are parameters too (`any_rule`, `any_parent`, `since_ts`), so the statement is
    built once: building one per lookup cost more than running it.
    """
    query = select(jobs).where(
        column == bindparam("digest"),
        or_(bindparam("any_rule", type_=Boolean), jobs.c.rule == bindparam("rule")),
        or_(bindparam("any_parent", type_=Boolean), jobs.c.parent_data_id.is_(None)),
        jobs.c.upload_ts >= bindparam("since_ts"),
    )
    if done:
        query = query.where(_STATE_UNINDEXED == DONE)
    return query.order_by(jobs.c.seq.desc()).limit(1)


_BY_HASH = {(length, done): _by_hash(column, done) for length, column in HASH_COLUMNS.items() for done in (True, False)}


def latest_by_hash(
    db: Engine,
    digest: str,
    *,
    rule: str | None = None,
    self_only: bool = False,
    since_ts: float | None = None,
    include_in_progress: bool = False,
) -> RowMapping | None:
    """The newest finished job for a hash (or, if asked and none finished, the newest running one)."""
    values = {
        "digest": digest.lower(),
        "any_rule": not rule,
        "rule": rule or "",
        "any_parent": not self_only,
        "since_ts": since_ts if since_ts is not None else float("-inf"),
    }
    with db.connect() as conn:
        done = conn.execute(_BY_HASH[len(digest), True], values).mappings().first()
        if done is not None or not include_in_progress:
            return done
        return conn.execute(_BY_HASH[len(digest), False], values).mappings().first()


def _by_hashes(column: Any, with_engines: bool) -> Select[Any]:
    """Bulk POST /hash's query on one hash column: the finished jobs of the `wanted` digests, oldest first.

    Only what the bulk answer shows: decoding whole results was most of its time, and decoding
    their engines only to count detections most of what was left. Without `with_engines` they are
    read only for a job that has no stored count (finished by a ScanHive older than the column).
    """
    engines = jobs.c.result["engines"]
    if not with_engines:
        engines = case((jobs.c.total_detected_avs.is_(None), engines))
    return (
        select(column, jobs.c.data_id, jobs.c.scan_all_result_i, jobs.c.total_detected_avs, engines.label("engines"))
        .where(column.in_(bindparam("wanted", expanding=True)), _STATE_UNINDEXED == DONE)
        .order_by(jobs.c.seq)
    )


_BY_HASHES = {
    (length, with_engines): _by_hashes(column, with_engines)
    for length, column in HASH_COLUMNS.items()
    for with_engines in (True, False)
}


def latest_by_hashes(db: Engine, digests: Sequence[str], with_engines: bool = False) -> dict[str, RowMapping]:
    """Newest finished job per hash (data_id, scan_all_result_i, total_detected_avs, engines), by lower-case hash.

    `engines` (the result's) is None unless `with_engines` is asked or the job has no stored count.
    """
    found: dict[str, RowMapping] = {}
    by_length: dict[int, list[str]] = {}
    for digest in digests:
        if len(digest) in HASH_COLUMNS:
            by_length.setdefault(len(digest), []).append(digest.lower())
    with db.connect() as conn:
        for length, wanted in by_length.items():
            name = HASH_COLUMNS[length].name
            for row in conn.execute(_BY_HASHES[length, with_engines], {"wanted": wanted}).mappings():
                found[row[name]] = row  # ascending seq: the newest wins
    return found


def cancel(db: Engine, data_id: str, result: dict[str, Any], code: int, conclude: Conclude) -> list[str]:
    """Finish a job and its unfinished descendants as cancelled; returns the data_ids cancelled.

    A waiting archive above the cancelled job is concluded if this was its last open child.
    """
    cancelled: list[str] = []
    pending = [data_id]
    outcome = _outcome(code, result)
    with db.begin() as conn:
        while pending:
            current = pending.pop()
            done = conn.execute(
                update(jobs)
                .where(jobs.c.data_id == current, jobs.c.state != DONE)
                .values(state=DONE, end_ts=time.time(), **outcome)
            ).rowcount
            if done:
                cancelled.append(current)
            pending.extend(
                conn.execute(
                    select(jobs.c.data_id).where(
                        jobs.c.parent_data_id == current, jobs.c.state != DONE
                    )
                ).scalars()
            )
        webhooks.enqueue_for(conn, cancelled)
        if cancelled:
            parent = conn.execute(select(jobs.c.parent_data_id).where(jobs.c.data_id == data_id)).scalar_one()
            _roll_up(conn, parent, conclude)
    return cancelled
