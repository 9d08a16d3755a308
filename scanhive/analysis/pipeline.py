"""Analysis of one job, step by step in MetaDefender's order, producing the stored analysis record.

Steps: file type (and its name check) -> size limit -> archive extraction (each child is queued as
a job of its own) -> block/allow lists -> engines (reputation, YARA, AV, ... concurrently, each
with its timeout) -> verdict. An archive with children then waits for them, and `conclude` rolls
their results up. The record is plain JSON that `report.render` turns into MetaDefender's shape.
"""

from __future__ import annotations

import concurrent.futures
import logging
import re
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as Database

from scanhive.analysis import verdict
from scanhive.analysis.extraction import ExtractionLimits, extract, is_container, is_document
from scanhive.analysis.ingest import hash_file
from scanhive.config import RuleSettings, Settings
from scanhive.engines.base import HEAD_SIZE, Engine, EngineResult, ScanContext
from scanhive.engines.filetype import FileType, FileTypeEngine, check_name, filetype_info
from scanhive.engines.isolation import IsolatedEngine
from scanhive.engines.registry import runs
from scanhive.store import jobs
from scanhive.store.admin_config import AdminConfig
from scanhive.store.files import DirectoryFileStore
from scanhive.timefmt import iso

log = logging.getLogger(__name__)
_REPUTATION_DECIDES = (verdict.KNOWN_BAD, verdict.KNOWN_GOOD)
#: An engine's result, when its scan began and how long it took (monotonic seconds).
Outcome = tuple[EngineResult, float, float]


@dataclass(frozen=True)
class Analysis:
    code: int
    record: dict[str, Any]
    waiting: bool = False  # an archive whose children are still being analyzed


def _ms(seconds: float) -> int:
    return max(0, int(round(seconds * 1000)))


def decision(code: int, rule: RuleSettings | None) -> dict[str, Any]:
    """process_info's result/blocked_reason(s)/verdicts for a final code under a rule."""
    allowed = rule is not None and code in rule.allow_results
    name = verdict.name(code)
    return {
        "result": "Allowed" if allowed else "Blocked",
        "blocked_reasons": [] if allowed else [name],
        "verdicts": [name],
    }


def final_record(code: int, rule: RuleSettings | None, reason: str = "", **parts: Any) -> dict[str, Any]:
    """The stored analysis record; `parts` are file_type, engines, timings, filetype_info, ..."""
    record: dict[str, Any] = {"file_type": {}, "engines": {}, "timings": {}, **parts, **decision(code, rule)}
    if reason and record["result"] == "Blocked":
        record["blocked_reasons"] = [reason]
    return record


def conclude(settings: Settings, archive: Mapping[str, Any], child_codes: list[int]) -> tuple[int, dict[str, Any]]:
    """An archive's final result: the worst of its own result and its children's."""
    record = dict(archive["result"] or {})
    code = verdict.worst([record.get("own_code", archive["scan_all_result_i"]), *child_codes])
    return code, {**record, **decision(code, settings.rule(archive["rule"]))}


def type_is_blocked(rule: RuleSettings, file_type: FileType) -> bool:
    """Whether a rule's blocked_types names this file's category letter or matches its MIME type."""
    for entry in rule.blocked_types:
        if entry == file_type.category or (len(entry) > 1 and re.fullmatch(entry, file_type.mime)):
            return True
    return False


def yara_block(engines: Mapping[str, Any]) -> dict[str, Any] | None:
    """The report's `yara` block from the YARA engine's record, when it ran."""
    yara = next((e for e in engines.values() if e["eng_id"] == "yara_1_linux"), None)
    if yara is None:
        return None
    hits = {hit["rule"]: hit for hit in yara["details"].get("hits", [])}
    return {"hits": hits, "verdict": yara["scan_result_i"]}


class Pipeline:
    """Holds the engines of one worker process and analyzes files with them."""

    def __init__(
        self,
        settings: Settings,
        engines: list[Engine],
        db: Database,
        store: DirectoryFileStore,
        notify: Callable[[int], None],
    ) -> None:
        self.settings = settings
        self.engines = engines
        self.db = db
        self.store = store
        self.notify = notify  # wake workers for this many newly queued children
        self.file_types = FileTypeEngine()
        self.admin = AdminConfig(db)
        self._threads = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, len(engines)), thread_name_prefix="engine"
        )

    def load(self) -> None:
        """Load every engine; isolated engines start their host processes in parallel first."""
        for engine in self.engines:
            if isinstance(engine, IsolatedEngine):
                engine.start()
        for engine in self.engines:
            engine.load()

    def analyze(self, job: Mapping[str, Any], path: Path) -> Analysis:
        started = time.monotonic()
        rule = self.settings.rule(job["rule"])
        if rule is None:  # the rule was removed from the configuration after the upload
            return Analysis(verdict.FAILED, final_record(verdict.FAILED, None, reason=f"Unknown rule: {job['rule']}"))
        limits = [rule.global_timeout, *([float(job["global_timeout"])] if job["global_timeout"] else [])]
        deadline = started + min(limits)

        file_type = self.file_types.identify(path)
        name_check = check_name(job["display_name"], file_type)
        type_blocked = type_is_blocked(rule, file_type)
        type_code = verdict.BLACKLISTED if type_blocked else None
        if type_code is None and name_check.mismatch and rule.detect_type_mismatch:
            type_code = verdict.MISMATCH
        parts: dict[str, Any] = {
            "file_type": {"mime": file_type.mime, "description": file_type.description, "category": file_type.category},
            "filetype_info": filetype_info(file_type, name_check, blocked=type_code is not None),
            "timings": {"filetype_time": _ms(time.monotonic() - started)},
        }
        if job["file_size"] > rule.max_file_size:
            reason = f"File size exceeds the rule's maximum ({rule.max_file_size} bytes)"
            return Analysis(verdict.NOT_SCANNED, final_record(verdict.NOT_SCANNED, rule, reason, **parts))

        extraction_code, waiting = None, False
        if rule.archive.enabled and is_container(file_type.mime):
            began = time.monotonic()
            extraction = job["extraction"] or self._extract(job, path, file_type.mime, rule)
            if extraction is not None:
                extraction_code, waiting = extraction["code"], extraction["children"] > 0
                parts["extraction_info"] = extraction["info"]
                parts["timings"]["extraction_time"] = _ms(time.monotonic() - began)

        hashes = {name: job[name] for name in ("md5", "sha1", "sha256", "sha512")}
        listed = self.admin.list_entries(hashes.values())
        list_code = self._list_code(listed)
        if list_code is not None:  # "Scan Skipped - Whitelisted/Blacklisted"
            code = verdict.combine([], [extraction_code, type_code, list_code])
            return Analysis(code, final_record(code, rule, own_code=code, **parts), waiting)

        skipped = {e for entry in listed if entry["list"] == "skip" for e in entry["engines"] or []}
        engines, timed_out, timings = self._run_engines(rule, job, file_type.mime, hashes, skipped, path, deadline)
        parts["timings"].update(timings)
        reputation = next((e["scan_result_i"] for e in engines.values() if e["engine_type"] == "reputation"), None)
        scanners = [e["scan_result_i"] for e in engines.values() if e["engine_type"] != "reputation"]
        decided_before = [
            verdict.GLOBAL_TIMEOUT if timed_out else None,
            extraction_code,
            type_code,
            reputation if reputation in _REPUTATION_DECIDES else None,
        ]
        code = verdict.combine(scanners, decided_before)
        yara = yara_block(engines)
        if yara is not None:
            parts["yara"] = yara
        return Analysis(code, final_record(code, rule, engines=engines, own_code=code, **parts), waiting)

    def _extract(self, job: Mapping[str, Any], path: Path, mime: str, rule: RuleSettings) -> dict[str, Any] | None:
        """Open an archive in the job's own work directory and queue its children as jobs.

        None for an Office document that embeds nothing: it is reported as a document, not an archive.
        """
        work = self.settings.data_dir / "work" / job["data_id"]
        shutil.rmtree(work, ignore_errors=True)
        limits = ExtractionLimits(**rule.archive.model_dump(exclude={"enabled"}))
        try:
            outcome = extract(
                path, mime, work, depth=job["depth"], limits=limits,
                passwords=job["archive_passwords"] or (), name=job["display_name"],
            )
            children = [self._child(job, extracted.path, extracted.name, extracted.size) for extracted in outcome.files]
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if not children and outcome.code is None and is_document(mime):
            return None
        extraction = {"code": outcome.code, "info": outcome.info, "children": len(children), "skipped": outcome.skipped}
        jobs.record_children(self.db, job["data_id"], extraction, children)
        self.notify(len(children))
        return extraction

    def _child(self, parent: Mapping[str, Any], path: Path, name: str, size: int) -> dict[str, Any]:
        """Move an extracted file into the store and describe its job row."""
        data_id = uuid.uuid4().hex
        hashes = hash_file(path)
        return {
            "data_id": data_id,
            "display_name": f"{parent['display_name'] or parent['data_id']}/{name}",
            "file_size": size,
            **hashes,
            "storage_key": self.store.commit(path, data_id),
            "rule": parent["rule"],
            "user_agent": parent["user_agent"],
            "username": parent["username"],
            "archive_passwords": parent["archive_passwords"],
            "depth": parent["depth"] + 1,
            "hash_time": 0,
            "upload_ts": time.time(),
        }

    @staticmethod
    def _list_code(listed: list[Any]) -> int | None:
        kinds = {entry["list"] for entry in listed}
        if "blacklist" in kinds:
            return verdict.BLACKLISTED
        return verdict.WHITELISTED if "whitelist" in kinds else None

    def _selected(self, rule: RuleSettings, skipped: set[str]) -> list[Engine]:
        switches = self.admin.switches()
        return [e for e in self.engines if e.eng_id not in skipped and runs(rule, e, switches, e.status())]

    def _run_engines(
        self,
        rule: RuleSettings,
        job: Mapping[str, Any],
        mime: str,
        hashes: dict[str, str],
        skipped: set[str],
        path: Path,
        deadline: float,
    ) -> tuple[dict[str, Any], bool, dict[str, int]]:
        """Run the rule's engines; returns scan_details records, whether the deadline hit, timings."""
        submitted = time.monotonic()
        with path.open("rb") as handle:
            head = handle.read(HEAD_SIZE)
        futures = {}
        for engine in self._selected(rule, skipped):
            timeout = max(0.001, min(rule.engine_timeouts.get(engine.eng_id, rule.engine_timeout), deadline - submitted))
            context = ScanContext(display_name=job["display_name"], file_type=mime, timeout=timeout, hashes=hashes)
            if _accepts(engine, mime, head):
                future = self._threads.submit(_timed_scan, engine, path, context)
            else:  # answered as its scan() would, without the thread hop and the pipe round trip
                future = _answered((EngineResult.clean(), submitted, 0.0))
            futures[engine] = (future, timeout)
        details: dict[str, Any] = {}
        timed_out = False
        for engine, (future, timeout) in futures.items():
            remaining = max(0.0, min(submitted + timeout, deadline) - time.monotonic())
            try:
                result, began, took = future.result(timeout=remaining)
            except concurrent.futures.TimeoutError:
                future.cancel()
                timed_out = timed_out or time.monotonic() >= deadline
                result, began, took = EngineResult.failed("Scan timed out"), submitted, time.monotonic() - submitted
            status = engine.status()
            details[engine.eng_name] = {
                "eng_id": engine.eng_id,
                "engine_type": engine.engine_type,
                "scan_result_i": result.scan_result_i,
                "threat_found": result.threat_found,
                "def_time": iso(status.def_time) if status.def_time else "",
                "scan_time": _ms(took),
                "wait_time": _ms(began - submitted),
                "details": result.details,
            }
        av_time = max((d["scan_time"] + d["wait_time"] for d in details.values()), default=0)
        timings = {"av_scan_time": av_time}
        if "YARA" in details:
            timings["yara_time"] = details["YARA"]["scan_time"]
        return details, timed_out, timings


def _accepts(engine: Engine, mime: str, head: bytes) -> bool:
    """engine.accepts, where a check that fails leaves the decision to the engine's own scan."""
    try:
        return engine.accepts(mime, head)
    except Exception:  # a broken third-party check must not fail the whole analysis
        log.exception("%s: accepts() failed", engine.eng_name)
        return True


def _answered(outcome: Outcome) -> concurrent.futures.Future[Outcome]:
    """A future already holding an engine's outcome."""
    future: concurrent.futures.Future[Outcome] = concurrent.futures.Future()
    future.set_result(outcome)
    return future


def _timed_scan(engine: Engine, path: Path, context: ScanContext) -> Outcome:
    """Run one engine, turning any exception into that engine's Failed result."""
    began = time.monotonic()
    try:
        result = engine.scan(path, context)
    except Exception as exc:  # an engine's failure costs its own result only
        result = EngineResult.failed(f"{type(exc).__name__}: {exc}"[:500])
    return result, began, time.monotonic() - began
