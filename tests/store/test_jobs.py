"""Every way a job's result is stored also stores its count of detections, which bulk lookups read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, RowMapping, select, update

from scanhive.analysis.report import detections
from scanhive.store import jobs
from scanhive.store.database import open_database
from scanhive.store.schema import jobs as jobs_table
from tests.store.conftest import MakeDatabase
from tests.store.samples import CLEAN, COUNTS, DETECTED, UNWANTED, job


@pytest.fixture
def db(make_database: MakeDatabase) -> Iterator[Engine]:
    engine = open_database(make_database())
    yield engine
    engine.dispose()


def _never(_archive: RowMapping, _codes: list[int]) -> tuple[int, dict[str, Any]]:
    raise AssertionError("no archive waits here")


def _count(db: Engine, number: int) -> int | None:
    with db.connect() as conn:
        return conn.execute(select(jobs_table.c.total_detected_avs).where(jobs_table.c.data_id == job(number)["data_id"])).scalar_one()


@pytest.mark.parametrize("name", COUNTS)
def test_finish_stores_the_count(db: Engine, name: str) -> None:
    result, expected = COUNTS[name]
    jobs.insert(db, **job(1))
    assert _count(db, 1) is None
    assert jobs.finish(db, job(1)["data_id"], 0, result, _never)
    assert _count(db, 1) == expected == detections(result)


def test_a_reused_result_and_its_copies_store_their_counts(db: Engine) -> None:
    parent = job(1)["data_id"]
    copy = {**job(2), "parent_data_id": parent, "depth": 1, "scan_all_result_i": 22, "result": UNWANTED}
    jobs.insert_finished(db, 1, DETECTED, [copy], **job(1))
    assert (_count(db, 1), _count(db, 2)) == (2, 1)


def test_cancelling_stores_the_count_of_the_cancel_record(db: Engine) -> None:
    jobs.insert(db, **job(1))
    assert jobs.cancel(db, job(1)["data_id"], UNWANTED, 19, _never) == [job(1)["data_id"]]
    assert _count(db, 1) == 1


def test_an_archive_concluded_by_its_last_child_stores_the_concluded_count(db: Engine) -> None:
    archive = job(1)["data_id"]
    jobs.insert(db, **job(1))
    jobs.record_children(db, archive, {"info": {}}, [{**job(2), "parent_data_id": archive, "depth": 1}])
    jobs.finish(db, archive, 1, DETECTED, _never, waiting=True)
    jobs.finish(db, job(2)["data_id"], 0, CLEAN, lambda _archive, codes: (max(codes), UNWANTED))
    assert (_count(db, 1), _count(db, 2)) == (1, 0)


def test_bulk_lookup_reads_engines_only_when_asked_or_uncounted(db: Engine) -> None:
    for number, result in ((1, DETECTED), (2, CLEAN)):
        jobs.insert(db, **job(number))
        jobs.finish(db, job(number)["data_id"], 0, result, _never)
    digests = [job(1)["sha256"], job(2)["md5"].upper()]
    counted = jobs.latest_by_hashes(db, digests)
    assert [(row["total_detected_avs"], row["engines"]) for row in counted.values()] == [(2, None), (0, None)]
    detailed = jobs.latest_by_hashes(db, digests, with_engines=True)
    assert [row["engines"] for row in detailed.values()] == [DETECTED["engines"], CLEAN["engines"]]
    with db.begin() as conn:  # as a ScanHive older than the column would have left it
        conn.execute(update(jobs_table).where(jobs_table.c.data_id == job(1)["data_id"]).values(total_detected_avs=None))
    uncounted = jobs.latest_by_hashes(db, digests)
    assert [(row["total_detected_avs"], row["engines"]) for row in uncounted.values()] == [(None, DETECTED["engines"]), (0, None)]
