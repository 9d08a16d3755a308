"""The Core API on its port: served by the server process and, with `api_processes` > 1, by helpers.

Every process accepts on the one listening socket the server bound, so the kernel spreads the
connections. A helper builds its own Runtime over the same database and file store, wakes the
same workers, and shares the server's start time (which results may be reused) and its count of
ready workers (`/readyz`). What a process keeps between requests is either read again within
seconds or follows the marker files admins' changes leave (`store/changes.py`, YARA's sources).
A helper that crashes is replaced; one that exits on a signal is not (the server is stopping).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
from functools import partial
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn
from fastapi import FastAPI

from scanhive.api.app import create_app
from scanhive.config import Settings
from scanhive.engines.registry import create_engines
from scanhive.processes import die_with_parent
from scanhive.runtime import Runtime
from scanhive.store.database import open_database
from scanhive.store.files import DirectoryFileStore

log = logging.getLogger(__name__)


def _config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", timeout_keep_alive=30)


def serve(runtime: Runtime, wakeups: Any, ready_workers: Any) -> None:
    """Answer the API until the server is told to stop, with `api_processes - 1` helpers beside it."""
    config = _config(create_app(runtime), runtime.settings)
    listening = config.bind_socket()
    helpers = _Helpers(runtime, listening, wakeups, ready_workers)
    helpers.start()
    try:
        uvicorn.Server(config).run(sockets=[listening])
    finally:
        helpers.stop()
        listening.close()


class _Helpers:
    """The helper API processes, started, watched and replaced from the server process."""

    def __init__(self, runtime: Runtime, listening: socket.socket, wakeups: Any, ready_workers: Any) -> None:
        self._count = runtime.settings.api_processes - 1
        self._args = (runtime.settings, listening, wakeups, ready_workers, runtime.deployment_id, runtime.started_ts)
        self._context = multiprocessing.get_context("spawn")
        self._processes: list[BaseProcess] = []
        self._stopping = threading.Event()
        self._monitor = threading.Thread(target=self._watch, daemon=True, name="api-monitor")

    def start(self) -> None:
        if self._count:
            self._processes = [self._spawn() for _ in range(self._count)]
            self._monitor.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._monitor.is_alive():
            self._monitor.join()  # so that it starts no helper while these stop
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            process.join(timeout=10)

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(target=_helper_main, args=self._args, name="api")
        process.start()
        return process

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            for index, process in enumerate(self._processes):
                if process.is_alive() or process.exitcode == 0 or self._stopping.is_set():
                    continue
                log.warning("API process %s exited with %s; starting another", process.pid, process.exitcode)
                self._processes[index] = self._spawn()


def _helper_main(
    settings: Settings,
    listening: socket.socket,
    wakeups: Any,
    ready_workers: Any,
    deployment_id: str,
    started_ts: float,
) -> None:
    """Entry point of a helper API process."""
    die_with_parent()
    os.setpgrp()  # Ctrl-C reaches the server alone, which then stops its helpers
    logging.basicConfig(level=logging.INFO, format="%(asctime)s api %(name)s %(levelname)s %(message)s")
    runtime = Runtime(
        settings=settings,
        db=open_database(settings.resolved_database_url),
        store=DirectoryFileStore(settings.data_dir / "files"),
        engines=create_engines(settings),
        notify=partial(wakeups.put_nowait, None),
        workers_alive=lambda: ready_workers.value,
        deployment_id=deployment_id,
        started_ts=started_ts,
    )
    uvicorn.Server(_config(create_app(runtime), settings)).run(sockets=[listening])
