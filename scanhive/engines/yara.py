"""YARA with ScanHive's bundled rules, the configured rule directories and the API-managed sources."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import yara

from scanhive.analysis import verdict
from scanhive.caching import Expiring
from scanhive.config import Settings
from scanhive.engines.base import Engine, EngineResult, EngineStatus, ScanContext
from scanhive.engines.yara_sources import ChangeMarker, compile_sources, newest_change, sources_file

_STATUS_CACHE_SECONDS = 2.0


class YaraEngine(Engine):
    eng_id = "yara_1_linux"
    eng_name = "YARA"
    engine_type = "av"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._rules: yara.Rules | None = None
        self._compiled_for: float | None = None  # sources.json mtime the rules were compiled for
        # status() runs per job in workers and per poll in the API; walking every rule directory
        # each time is what costs, so the walk is redone only when the cheap marker moves, or
        # after a while for rule files edited in place.
        sources = (settings.data_dir, settings.yara.rule_dirs)
        self._newest_change = Expiring(partial(newest_change, *sources), _STATUS_CACHE_SECONDS, ChangeMarker(*sources))

    def _sources_mtime(self) -> float:
        try:
            return sources_file(self.settings.data_dir).stat().st_mtime
        except OSError:
            return 0.0

    def status(self) -> EngineStatus:
        if not self.settings.yara.enabled:
            return EngineStatus(yara.__version__, None, "removed", "disabled in the configuration")
        newest = self._newest_change.get()
        return EngineStatus(yara.__version__, datetime.fromtimestamp(newest, tz=timezone.utc))

    def load(self) -> None:
        """(Re)compile every source that compiles; called again whenever the source list changes."""
        mtime = self._sources_mtime()
        compiled = compile_sources(self.settings.data_dir, self.settings.yara.rule_dirs)
        self._rules = yara.compile(filepaths=compiled.files)
        self._compiled_for = mtime

    def scan(self, path: Path, context: ScanContext) -> EngineResult:
        if self._rules is None or self._sources_mtime() != self._compiled_for:
            self.load()
        assert self._rules is not None
        matches = self._rules.match(str(path), timeout=max(1, int(context.timeout)))
        if not matches:
            return EngineResult.clean()
        hits = [
            {"rule": m.rule, "namespace": m.namespace, "tags": list(m.tags), "meta": dict(m.meta)}
            for m in matches
        ]
        malicious = any(str(m.meta.get("verdict", "")).lower() == "malicious" for m in matches)
        code = verdict.INFECTED if malicious else verdict.SUSPICIOUS
        return EngineResult(code, threat_found=", ".join(m.rule for m in matches), details={"hits": hits})
