"""What the API needs at hand: settings, database, file store, engines and the dispatcher."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from scanhive.analysis.certificate import BatchSigner
from scanhive.config import Settings
from scanhive.engines.base import Engine as ScanEngine
from scanhive.engines.base import EngineStatus
from scanhive.engines.filetype import FileTypeEngine
from scanhive.store.admin_config import AdminConfig
from scanhive.store.files import DirectoryFileStore


@dataclass
class Runtime:
    settings: Settings
    db: Engine
    store: DirectoryFileStore
    engines: list[ScanEngine]
    notify: Callable[[], None]  # wake a worker: a job was queued
    workers_alive: Callable[[], int]
    deployment_id: str
    file_types: FileTypeEngine = field(default_factory=FileTypeEngine)
    #: When this server started: results made since were made under the current settings.
    started_ts: float = field(default_factory=time.time)
    signer: BatchSigner = field(init=False)
    admin: AdminConfig = field(init=False)

    def __post_init__(self) -> None:
        self.signer = BatchSigner(self.settings.data_dir)
        self.admin = AdminConfig(self.db)

    def engine_statuses(self) -> dict[str, EngineStatus]:
        """eng_id -> status of each scanning engine (the costly ones cache their own, as in workers)."""
        return {e.eng_id: e.status() for e in self.engines}
