"""How the client commands print: rich tables for people, JSON and JSON lines for programs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Column, Table
from rich.text import Text

from scanhive.client.models import BatchStatus, EngineInfo, HashResult, ScanReport, result_name
from scanhive.client.scanning import FileOutcome, Status

#: The style of each status in tables.
STYLES = {
    Status.CLEAN: "green",
    Status.SKIPPED: "dim",
    Status.SUBMITTED: "cyan",
    Status.FAILED: "yellow",
    Status.BLOCKED: "red",
    Status.INFECTED: "bold red",
}


def print_json(value: Any) -> None:
    """Print one indented JSON document."""
    print(json.dumps(value, indent=2, ensure_ascii=False))


def print_json_line(value: Any) -> None:
    """Print one compact JSON object on its own line, flushed at once."""
    print(json.dumps(value, separators=(",", ":"), ensure_ascii=False), flush=True)


def scan_progress(console: Console, files: int, size: int, disable: bool) -> Progress:
    """A progress bar of files done and bytes uploaded; its one task has id 0."""
    progress = Progress(
        TextColumn("{task.fields[done]}/{task.fields[files]} files"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=disable,
    )
    progress.add_task("scan", total=size, done=0, files=files)
    return progress


def outcomes_table(outcomes: Sequence[FileOutcome]) -> Table:
    """File, verdict, engines that detected and threat names, one row per file."""
    table = Table(Column("File", overflow="fold"), "Verdict", "Detected by", "Threats")
    for outcome in outcomes:
        report = outcome.report
        if report is None:
            verdict = f"{outcome.status.value}: {outcome.error or outcome.skipped}"
        else:
            verdict = report.scan_all_result_a + (f" ({report.result})" if report.result else "")
        table.add_row(
            Text(str(outcome.path)),
            Text(verdict, style=STYLES[outcome.status]),
            Text(", ".join(report.detected_by) if report else ""),
            Text(", ".join(report.threats) if report else ""),
        )
    return table


def submissions_table(outcomes: Sequence[FileOutcome]) -> Table:
    """File and data_id (or why there is none), one row per file."""
    table = Table(Column("File", overflow="fold"), Column("data_id", overflow="fold"))
    for outcome in outcomes:
        note = outcome.data_id or f"{outcome.status.value}: {outcome.error or outcome.skipped}"
        table.add_row(Text(str(outcome.path)), Text(note, style=STYLES[outcome.status]))
    return table


def batch_summary(status: BatchStatus) -> str:
    """One line about a batch: id, verdict, result, file count, open or closed."""
    state = "closed" if status.is_closed else "open"
    result = f" ({status.result})" if status.result else ""
    return f"batch {status.batch_id}: {status.scan_all_result_a}{result}, {status.file_count} files, {state}"


def report_table(report: ScanReport) -> Table:
    """One report: a title with the verdict, and a row per engine."""
    title = f"{report.file.display_name or report.data_id}: {report.scan_all_result_a}"
    if report.result:
        title += f" ({report.result})"
    table = Table("Engine", "Result", "Threat", "Definitions", title=Text(title))
    for engine in report.engines:
        table.add_row(
            Text(engine.engine),
            Text(result_name(engine.scan_result_i), style="bold red" if engine.detected else ""),
            Text(engine.threat_found),
            Text(engine.def_time),
        )
    return table


def hash_table(results: Sequence[HashResult]) -> Table:
    """Hash, verdict, number of engines that detected, data_id."""
    table = Table(Column("Hash", overflow="fold"), "Verdict", "Detected", Column("data_id", overflow="fold"))
    for result in results:
        style = "bold red" if result.detected else ("dim" if not result.found else "green")
        detected = str(result.total_detected_avs) if result.found else ""
        table.add_row(Text(result.hash), Text(result.verdict, style=style), Text(detected), Text(result.data_id or ""))
    return table


def hash_json(result: HashResult) -> dict[str, Any]:
    """The --json / --jsonl object for one hash: the server's entry plus the verdict's name."""
    return {**result.raw, "verdict": result.verdict}


def engines_table(engines: Sequence[EngineInfo]) -> Table:
    """One row per engine: name, id, version, type, state, definitions time."""
    table = Table("Engine", "Id", "Version", "Type", "State", "Definitions")
    for engine in engines:
        style = "green" if engine.state == "production" else "yellow"
        table.add_row(
            Text(engine.eng_name),
            Text(engine.eng_id),
            Text(engine.eng_ver),
            Text(engine.engine_type),
            Text(engine.state, style=style),
            Text(engine.def_time),
        )
    return table
