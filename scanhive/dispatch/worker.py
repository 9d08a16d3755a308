"""A local worker process: claims jobs from the durable queue and analyzes them."""

from __future__ import annotations

import logging
import os
import queue
import signal
import sys
from functools import partial
from typing import Any

from sqlalchemy import Engine

from scanhive.analysis import verdict
from scanhive.analysis.pipeline import Analysis, Pipeline, conclude, final_record
from scanhive.config import Settings
from scanhive.engines.registry import create_engines
from scanhive.processes import die_with_parent
from scanhive.store import jobs
from scanhive.store.database import open_database
from scanhive.store.files import DirectoryFileStore

log = logging.getLogger(__name__)

#: A job whose worker died this many times (e.g. a file that crashes a native library) is
#: finished as Failed instead of being retried forever.
MAX_ATTEMPTS = 3
_IDLE_WAIT = 1.0


def run_job(settings: Settings, db: Engine, store: DirectoryFileStore, pipeline: Pipeline, job: Any) -> None:
    """Analyze one claimed job and store its final result."""
    if job["attempts"] > MAX_ATTEMPTS:
        reason = f"Analysis was interrupted {MAX_ATTEMPTS} times"
        analysis = Analysis(verdict.FAILED, final_record(verdict.FAILED, settings.rule(job["rule"]), reason=reason))
    else:
        try:
            analysis = pipeline.analyze(job, store.path(job["storage_key"]))
        except Exception as exc:  # an unexpected failure still gives the data_id a final result
            log.exception("analysis of %s failed", job["data_id"])
            reason = f"Analysis failed: {type(exc).__name__}"
            analysis = Analysis(verdict.FAILED, final_record(verdict.FAILED, settings.rule(job["rule"]), reason=reason))
    jobs.finish(db, job["data_id"], analysis.code, analysis.record, partial(conclude, settings), analysis.waiting)


def _wake(wakeups: Any, workers: int, count: int) -> None:
    """Wake up to `count` idle workers (at most all of them) for newly queued jobs."""
    for _ in range(min(count, workers)):
        wakeups.put_nowait(None)


def worker_main(settings: Settings, wakeups: Any, ready: Any, name: str) -> None:
    """Entry point of a worker process (spawned by LocalWorkerPool); sets `ready` once engines are loaded."""
    die_with_parent()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s worker {name} %(levelname)s %(message)s")
    db = open_database(settings.resolved_database_url)
    store = DirectoryFileStore(settings.data_dir / "files")
    workers = max(1, settings.workers)
    pipeline = Pipeline(
        settings,
        create_engines(settings, isolate=True),
        db,
        store,
        notify=partial(_wake, wakeups, workers),
    )
    pipeline.load()
    ready.set()
    parent = os.getppid()
    while os.getppid() == parent:
        job = jobs.claim(db, name)
        if job is None:
            try:
                wakeups.get(timeout=_IDLE_WAIT)
            except queue.Empty:
                pass
            continue
        run_job(settings, db, store, pipeline, job)
