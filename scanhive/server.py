"""`scanhive serve`: one process that runs the API and supervises clamd, workers, webhooks and API helpers."""

from __future__ import annotations

import fcntl
import logging
import sys
import uuid
from functools import partial
from pathlib import Path
from typing import TextIO

from scanhive import serving
from scanhive.config import Settings
from scanhive.dispatch.local import LocalWorkerPool
from scanhive.dispatch.webhooks import WebhookSender
from scanhive.engines.clamav import ClamAVEngine, ClamdDaemon
from scanhive.engines.registry import create_engines
from scanhive.runtime import Runtime
from scanhive.store import accounts, engine_switches, jobs
from scanhive.store.database import analyze, open_database
from scanhive.store.files import DirectoryFileStore

log = logging.getLogger("scanhive")


def _lock_data_dir(data_dir: Path) -> TextIO:
    """Only one server may own a data dir (restart recovery requeues every running job)."""
    handle = (data_dir / "server.lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another ScanHive server is using {data_dir}")
    return handle


def _deployment_id(data_dir: Path) -> str:
    path = data_dir / "deployment-id"
    if not path.exists():
        path.write_text("SH" + uuid.uuid4().hex.upper())
    return path.read_text().strip()


def run(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    lock = _lock_data_dir(settings.data_dir)

    db = open_database(settings.resolved_database_url)
    analyze(db)
    store = DirectoryFileStore(settings.data_dir / "files")
    store.discard_incoming()
    requeued = jobs.requeue(db)
    if requeued:
        log.info("resuming %d job(s) interrupted by the last shutdown", requeued)
    generated = accounts.ensure_admin(db, settings.admin_user, settings.admin_password or None)
    if generated:
        print(f"ScanHive admin account: user '{settings.admin_user}', password '{generated}' "
              "(shown once; set SCANHIVE_ADMIN_PASSWORD or admin_password to choose one)", flush=True)

    clamd = ClamdDaemon(settings, pinned=partial(engine_switches.is_pinned, db, ClamAVEngine.eng_id))
    if settings.clamav.enabled:
        clamd.start()
    pool = LocalWorkerPool(settings, db)
    pool.start()
    sender = WebhookSender(settings, db)
    sender.start()

    runtime = Runtime(
        settings=settings,
        db=db,
        store=store,
        engines=create_engines(settings),
        notify=pool.notify,
        workers_alive=pool.alive,
        deployment_id=_deployment_id(settings.data_dir),
    )
    try:
        serving.serve(runtime, pool.wakeups, pool.ready_count)
    finally:
        sender.stop()
        pool.stop()
        clamd.stop()
        lock.close()
