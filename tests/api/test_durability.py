"""Every accepted data_id reaches a final result, even when the server is killed with SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

from tests.server import eicar, submit, wait_done


# A YARA rule that visits every byte and never matches: it makes scanning slow enough (~40 ms per
# MB) that the kill below lands while files are both queued and being scanned.
SLOW_RULE = "rule Slow_For_Tests { condition: for any i in (0..filesize - 1) : (uint8(i) > 255) }\n"


def test_kill_9_while_queued_and_scanning_then_restart(make_server, tmp_path) -> None:
    rules = tmp_path / "slow-rules"
    rules.mkdir()
    (rules / "slow.yar").write_text(SLOW_RULE)
    server = make_server({"SCANHIVE_YARA__RULE_DIRS": json.dumps([str(rules)])}, workers=1)
    accepted: dict[str, int] = {}
    with server.client() as client:
        for index in range(30):
            infected = index % 5 == 0
            body = eicar() if infected else os.urandom(4 * 1024 * 1024)
            accepted[submit(client, body)] = 1 if infected else 0
    states = _wait_for_running(server.data_dir)
    server.kill()
    assert states.get("queued", 0) > 0 and states.get("running", 0) == 1, states
    survivors = [p for p in _children_of(server.process.pid)]
    assert survivors == []  # workers and clamd died with the server

    server.start()
    with server.client() as client:
        for data_id, expected in accepted.items():
            report = wait_done(client, data_id, timeout=120)
            assert report["scan_results"]["scan_all_result_i"] == expected, data_id


def test_finished_results_reach_the_database_file_itself_within_seconds(make_server, tmp_path) -> None:
    # SQLite keeps commits in its write-ahead log until a checkpoint copies them into the database
    # file; left to SQLite, that waits for ~1000 pages (dozens of uploads), and a copy of the file
    # alone, as a backup taken without the -wal file would be, missed every recent result.
    server = make_server()
    with server.client() as client:
        expected = {submit(client, eicar()): 1, submit(client, b"clean text " * 100): 0}
        for data_id in expected:
            wait_done(client, data_id)
    deadline = time.monotonic() + 10
    while (found := _results_in_file_alone(server.data_dir, tmp_path / "copy.db")) != expected:
        assert time.monotonic() < deadline, found
        time.sleep(0.2)


def _results_in_file_alone(data_dir: Path, copy: Path) -> dict[str, int]:
    """data_id -> result of the finished jobs a copy of the database file holds without its WAL."""
    shutil.copyfile(data_dir / "scanhive.db", copy)
    try:
        with sqlite3.connect(copy) as db:
            rows = db.execute("SELECT data_id, scan_all_result_i FROM jobs WHERE state = 'done'").fetchall()
    except sqlite3.DatabaseError:  # copied in the middle of a checkpoint
        return {}
    finally:
        copy.unlink(missing_ok=True)
    return dict(rows)


def _children_of(pid: int) -> list[int]:
    time.sleep(0.5)
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                children.append(int(entry))
    return children


def _wait_for_running(data_dir: Path, timeout: float = 60) -> dict[str, int]:
    """The job states once the worker has claimed a file (it may still be loading its engines)."""
    deadline = time.monotonic() + timeout
    states = _job_states(data_dir)
    while not states.get("running") and time.monotonic() < deadline:
        time.sleep(0.05)
        states = _job_states(data_dir)
    return states


def _job_states(data_dir: Path) -> dict[str, int]:
    with sqlite3.connect(data_dir / "scanhive.db") as db:
        return dict(db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
