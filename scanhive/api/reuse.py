"""Answering a resubmitted file from its earlier result: same bytes, rule, engines and definitions.

A new scan of the same bytes by the same engines with the same definitions would find what the
earlier one found, so the earlier record is copied, marked with the data_id it was first made for,
and the upload shares the earlier one's stored file. An archive's extracted files, at all depths,
are copied with it as jobs of the new upload, each marked likewise, so its report lists them as the
earlier one did. Only results made since this server started qualify, as rules and engine settings
change only with a restart. Never reused: results that failed, were cancelled or timed out, files
named on a hash list (the lists decide before the engines), uploads whose name would pass or fail
the extension check differently, archives sent with other passwords (they may open differently),
and archives with an extracted file that any of these rules would have scanned again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scanhive.analysis import verdict
from scanhive.analysis.ingest import Ingested
from scanhive.config import RuleSettings
from scanhive.engines.filetype import FileType, check_name
from scanhive.engines.registry import runs
from scanhive.runtime import Runtime
from scanhive.store import jobs
from scanhive.store.schema import DONE
from scanhive.timefmt import iso

_NOT_REUSED = (verdict.FAILED, verdict.CANCELLED, verdict.GLOBAL_TIMEOUT)
#: What an extracted file's copy keeps of the earlier row. storage_key too: stored files are never
#: rewritten nor deleted, and a finished job's file is not read again, so two rows may share one.
_COPIED = (
    "file_size", "md5", "sha1", "sha256", "sha512", "storage_key", "rule", "depth", "extraction", "hash_time",
    "scan_all_result_i",
)


@dataclass(frozen=True)
class Reuse:
    """What a resubmission is answered with, and the rows copying the earlier extracted files."""

    code: int
    record: dict[str, Any]
    extraction: dict[str, Any] | None
    copies: list[dict[str, Any]]
    storage_key: str  # the earlier upload's stored file, the same bytes


def lineup(runtime: Runtime, rule: RuleSettings) -> dict[str, str]:
    """eng_id -> def_time ("" without one) of the engines a scan under `rule` would run now."""
    switches = runtime.admin.switches()
    statuses = runtime.engine_statuses()
    chosen = {}
    for engine in runtime.engines:
        status = statuses[engine.eng_id]
        if runs(rule, engine, switches, status):
            chosen[engine.eng_id] = iso(status.def_time) if status.def_time else ""
    return chosen


def earlier_result(runtime: Runtime, rule: RuleSettings, upload: Ingested, job: Mapping[str, Any]) -> Reuse | None:
    """The earlier result to answer this upload (`job`: its new row) with, or None when it must be scanned."""
    if not runtime.settings.reuse_results:
        return None
    # Cheapest first: most new files stop at this one query.
    earlier = jobs.latest_reusable(runtime.db, upload.sha256, rule.name, runtime.started_ts, _NOT_REUSED)
    if earlier is None:
        return None
    file_type = FileType(**earlier["result"]["file_type"])
    if check_name(job["display_name"], file_type) != check_name(earlier["display_name"], file_type):
        return None
    is_archive = earlier["extraction"] is not None
    if is_archive and earlier["archive_passwords"] != job["archive_passwords"]:
        return None
    current = lineup(runtime, rule)
    hashes = (upload.md5, upload.sha1, upload.sha256, upload.sha512)
    if not _scanned_alike(earlier, current) or runtime.admin.list_entries(hashes):
        return None
    extracted = jobs.descendants(runtime.db, earlier["data_id"]) if is_archive else []
    if not all(row["state"] == DONE and not row["listed"] and _scanned_alike(row, current) for row in extracted):
        return None
    copies = _copies(earlier, extracted, job)
    return Reuse(earlier["scan_all_result_i"], _marked(earlier), earlier["extraction"], copies, earlier["storage_key"])


def _scanned_alike(row: Mapping[str, Any], current: Mapping[str, str]) -> bool:
    """Whether a done job's result is final and came from the engines and definitions in use now, none failing."""
    engines = row["result"].get("engines", {}).values()
    used = {engine["eng_id"]: engine["def_time"] for engine in engines}
    failed = any(engine["scan_result_i"] == verdict.FAILED for engine in engines)
    return row["scan_all_result_i"] not in _NOT_REUSED and bool(used) and used == current and not failed


def _marked(row: Mapping[str, Any]) -> dict[str, Any]:
    """A job's record marked with the job it was first made for (a copy of a copy names the original)."""
    record: dict[str, Any] = row["result"]
    return {**record, "reused_from": record.get("reused_from", row["data_id"])}


def _copies(
    earlier: Mapping[str, Any], extracted: Sequence[Mapping[str, Any]], job: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Rows for the new upload's extracted files: the earlier ones under new data_ids, in the same order."""
    new_ids = {earlier["data_id"]: job["data_id"], **{row["data_id"]: uuid.uuid4().hex for row in extracted}}
    # Extracted files are named after their upload at every depth (see Pipeline._child).
    old_prefix = earlier["display_name"] or earlier["data_id"]
    new_prefix = job["display_name"] or job["data_id"]
    return [
        {
            **{column: row[column] for column in _COPIED},
            "data_id": new_ids[row["data_id"]],
            "parent_data_id": new_ids[row["parent_data_id"]],
            "display_name": new_prefix + row["display_name"][len(old_prefix):],
            "user_agent": job["user_agent"],
            "username": job["username"],
            "archive_passwords": job["archive_passwords"],
            "result": _marked(row),
        }
        for row in extracted
    ]
