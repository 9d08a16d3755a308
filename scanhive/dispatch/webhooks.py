"""Delivering callbackurl webhooks: POST the full report, retrying with backoff."""

from __future__ import annotations

import logging
import threading
import time

import httpx
from sqlalchemy import Engine

from scanhive.analysis.report import PAGE_SIZE, Children, compact_json, render
from scanhive.config import Settings
from scanhive.store import jobs, webhooks

log = logging.getLogger(__name__)
_POLL_SECONDS = 0.25


class WebhookSender:
    def __init__(self, settings: Settings, db: Engine) -> None:
        self.settings = settings
        self.db = db
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="webhooks")
        self._client = httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stopping.wait(_POLL_SECONDS):
            try:
                for delivery in webhooks.due(self.db):
                    self._deliver(delivery)
            except Exception:  # keep delivering whatever one bad row or a DB hiccup does
                log.exception("webhook delivery loop")

    def _deliver(self, delivery: dict) -> None:
        job = jobs.get(self.db, delivery["data_id"])
        if job is None:
            webhooks.record_attempt(self.db, delivery["data_id"], None, webhooks.FAILED, 0.0)
            return
        children = None
        if job["extraction"] is not None:
            page, codes = jobs.children_page(self.db, job["data_id"], 0, PAGE_SIZE)
            children = Children(page, codes, 0)
        body = compact_json(render(job, children=children))
        try:
            response = self._client.post(delivery["url"], content=body, headers={"Content-Type": "application/json"})
            status: int | None = response.status_code
        except httpx.HTTPError as exc:
            log.info("webhook %s -> %s failed: %s", delivery["data_id"], delivery["url"], exc)
            status = None
        attempts = delivery["attempts"] + 1
        if status is not None and 200 <= status < 300:
            state, next_ts = webhooks.DELIVERED, 0.0
        elif attempts >= self.settings.webhook_attempts:
            state, next_ts = webhooks.FAILED, 0.0
        else:
            state = webhooks.PENDING
            next_ts = time.time() + self.settings.webhook_retry_delay * 2 ** (attempts - 1)
        webhooks.record_attempt(self.db, delivery["data_id"], status, state, next_ts)
