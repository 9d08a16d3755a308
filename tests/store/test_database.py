"""Opening the SQLite database while another process is writing to it."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from scanhive.store.database import open_database


def test_opening_waits_while_another_writer_holds_a_database_not_yet_in_wal(tmp_path: Path) -> None:
    # Switching to WAL needs the database to itself; while another connection holds a write lock
    # SQLite answers "locked" at once instead of waiting (seen in CI: processes opening together).
    path = tmp_path / "scanhive.db"
    with sqlite3.connect(path) as made:
        made.execute("CREATE TABLE other (x)")
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO other VALUES (1)")
    committer = threading.Timer(0.5, writer.execute, ["COMMIT"])
    committer.start()
    db = open_database(f"sqlite:///{path}")
    committer.join()
    writer.close()
    with db.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("SELECT count(*) FROM jobs").scalar_one() == 0
    db.dispose()
