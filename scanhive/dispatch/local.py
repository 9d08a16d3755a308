"""The embedded default's dispatch: N local worker processes fed from the durable job table.

The table is the queue (a job is claimed atomically, so nothing is lost or done twice); a
multiprocessing queue only wakes idle workers early. A worker that dies has its running jobs
put back in the queue and is replaced.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from scanhive.config import Settings
from scanhive.dispatch.worker import worker_main
from scanhive.store import jobs
from scanhive.store.database import checkpoint, optimize

log = logging.getLogger(__name__)

#: How often SQLite's planner statistics are checked against the tables' growth: a no-op (~0.2 ms)
#: unless a table has none or grew ~25x since. Lookups by hash do not depend on them (jobs.py).
_OPTIMIZE_EVERY = 10.0


class LocalWorkerPool:
    def __init__(self, settings: Settings, db: Engine) -> None:
        self.settings = settings
        self.db = db
        self._context = multiprocessing.get_context("spawn")
        #: Wakes an idle worker per item; shared with the API processes (see `notify`).
        self.wakeups = self._context.Queue()
        #: Workers ready, as the monitor last counted them: `alive()` for other processes.
        self.ready_count = self._context.Value("i", 0)
        self._workers: dict[str, tuple[BaseProcess, Any]] = {}  # name -> (process, its ready event)
        self._generation = 0
        self._stopping = threading.Event()
        self._monitor = threading.Thread(target=self._watch, daemon=True, name="worker-monitor")

    def start(self) -> None:
        for _ in range(self.settings.workers):
            self._spawn()
        self._monitor.start()

    def notify(self) -> None:
        """A job was queued: wake one idle worker."""
        self.wakeups.put_nowait(None)

    def alive(self) -> int:
        """Workers running with their engines loaded."""
        return sum(1 for process, ready in self._workers.values() if process.is_alive() and ready.is_set())

    def stop(self) -> None:
        self._stopping.set()
        for process, _ in self._workers.values():
            process.terminate()
        for process, _ in self._workers.values():
            process.join(timeout=10)

    def _spawn(self) -> None:
        self._generation += 1
        name = f"local-{self._generation}"
        ready = self._context.Event()
        process = self._context.Process(target=worker_main, args=(self.settings, self.wakeups, ready, name), name=name)
        process.start()
        self._workers[name] = (process, ready)

    def _watch(self) -> None:
        next_optimize = time.monotonic() + _OPTIMIZE_EVERY
        while not self._stopping.wait(0.5):
            self.ready_count.value = self.alive()
            try:
                checkpoint(self.db)
                if time.monotonic() >= next_optimize:
                    next_optimize += _OPTIMIZE_EVERY
                    optimize(self.db)
            except SQLAlchemyError:  # both only keep the database quick; supervising must go on
                log.exception("database upkeep failed")
            for name, (process, _) in list(self._workers.items()):
                if process.is_alive() or self._stopping.is_set():
                    continue
                log.warning("worker %s exited with %s; requeueing its jobs", name, process.exitcode)
                del self._workers[name]
                jobs.requeue(self.db, [name])
                self._spawn()
                self.notify()
