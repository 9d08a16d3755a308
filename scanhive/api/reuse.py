"""Answering a resubmitted file from its earlier result: same bytes, rule, engines and definitions.

A new scan of the same bytes by the same engines with the same definitions would find what the
earlier one found, so the earlier record is copied, marked with the data_id it was first made
for. Only results made since this server started qualify, as rules and engine settings change
only with a restart. Never reused: archives (their extracted children would be missing), results
that failed, were cancelled or timed out, files named on a hash list (the lists decide before
the engines), and uploads whose name would pass or fail the extension check differently.
"""

from __future__ import annotations

from typing import Any

from scanhive.analysis import verdict
from scanhive.analysis.ingest import Ingested
from scanhive.config import RuleSettings
from scanhive.engines.filetype import FileType, check_name
from scanhive.engines.registry import runs
from scanhive.runtime import Runtime
from scanhive.store import jobs
from scanhive.timefmt import iso

_NOT_REUSED = (verdict.FAILED, verdict.CANCELLED, verdict.GLOBAL_TIMEOUT)


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


def earlier_result(
    runtime: Runtime, rule: RuleSettings, upload: Ingested, display_name: str
) -> tuple[int, dict[str, Any]] | None:
    """(final code, marked record) to answer this upload with, or None when it must be scanned."""
    if not runtime.settings.reuse_results:
        return None
    # Cheapest first: most new files stop at this one query.
    earlier = jobs.latest_reusable(runtime.db, upload.sha256, rule.name, runtime.started_ts, _NOT_REUSED)
    if earlier is None:
        return None
    record: dict[str, Any] = earlier["result"]
    engines = record.get("engines", {}).values()
    used = {engine["eng_id"]: engine["def_time"] for engine in engines}
    if not used or any(e["scan_result_i"] == verdict.FAILED for e in engines):
        return None
    file_type = FileType(**record["file_type"])
    if check_name(display_name, file_type) != check_name(earlier["display_name"], file_type):
        return None
    hashes = (upload.md5, upload.sha1, upload.sha256, upload.sha512)
    if used != lineup(runtime, rule) or runtime.admin.list_entries(hashes):
        return None
    return earlier["scan_all_result_i"], {**record, "reused_from": record.get("reused_from", earlier["data_id"])}
