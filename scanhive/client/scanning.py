"""Scanning many files: find them, upload with bounded concurrency, and classify each outcome."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from scanhive.client.errors import FATAL, ScanHiveError
from scanhive.client.models import ScanReport
from scanhive.client.sdk import AsyncClient


class Status(str, Enum):
    """What became of one file (or one report)."""

    CLEAN = "clean"
    SKIPPED = "skipped"
    SUBMITTED = "submitted"
    FAILED = "failed"
    BLOCKED = "blocked"
    INFECTED = "infected"


def report_status(report: ScanReport) -> Status:
    """Classify a report: still running, else failed analysis first, then a detection, a block, else clean."""
    if not report.done:
        return Status.SUBMITTED
    if report.failed:
        return Status.FAILED
    if report.detected:
        return Status.INFECTED
    if report.blocked:
        return Status.BLOCKED
    return Status.CLEAN


@dataclass
class ScanOptions:
    """The per-file options of a `scanhive scan` run."""

    rule: str | None = None
    archive_passwords: Sequence[str] = ()
    batch: str | None = None
    wait: bool = True
    timeout: float = 300.0


@dataclass
class FileOutcome:
    """One file of a run: its upload, its report, or why it has neither."""

    path: Path
    size: int = 0
    data_id: str | None = None
    report: ScanReport | None = None
    error: str | None = None
    skipped: str | None = None

    @classmethod
    def for_path(cls, path: Path) -> FileOutcome:
        """A not-yet-scanned outcome, with the file's size (or the error of reading it)."""
        try:
            return cls(path, size=path.stat().st_size)
        except OSError as exc:
            return cls(path, error=str(exc))

    @property
    def status(self) -> Status:
        """The file's status."""
        if self.error:
            return Status.FAILED
        if self.skipped:
            return Status.SKIPPED
        if self.report is None:
            return Status.SUBMITTED
        return report_status(self.report)

    def to_json(self) -> dict[str, Any]:
        """The --json / --jsonl object for this file."""
        report = self.report
        return {
            "file": str(self.path),
            "size": self.size,
            "status": self.status.value,
            "data_id": self.data_id,
            "verdict": report.scan_all_result_a if report else None,
            "scan_all_result_i": report.scan_all_result_i if report else None,
            "result": report.result if report else None,
            "detected_by": report.detected_by if report else [],
            "threats": report.threats if report else [],
            "sha256": report.file.sha256 if report else None,
            "error": self.error,
            "skipped": self.skipped,
            "report": report.raw if report else None,
        }


def collect_files(paths: Iterable[Path], include: Sequence[str], exclude: Sequence[str]) -> list[Path]:
    """The files named or found under `paths` (each folder's files by name, then its subfolders), filtered.

    A glob matches a file's name or its path relative to the folder given; an excluded folder
    is not entered.
    """
    found: list[Path] = []
    for root in paths:
        if not root.is_dir():
            if _selected(root, root.parent, include, exclude):
                found.append(root)
            continue
        for folder, subfolders, names in os.walk(root):
            here = Path(folder)
            subfolders[:] = sorted(name for name in subfolders if not _matches(here / name, root, exclude))
            found.extend(
                here / name
                for name in sorted(names)
                if (here / name).is_file() and _selected(here / name, root, include, exclude)
            )
    return list(dict.fromkeys(found))


def _matches(path: Path, root: Path, patterns: Sequence[str]) -> bool:
    """Whether the file name, or the path relative to `root`, matches one of the globs."""
    relative = path.relative_to(root).as_posix()
    return any(fnmatch(path.name, pattern) or fnmatch(relative, pattern) for pattern in patterns)


def _selected(path: Path, root: Path, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Whether the include globs (if any) take the file and no exclude glob drops it."""
    return (not include or _matches(path, root, include)) and not _matches(path, root, exclude)


async def scan_files(
    client: AsyncClient,
    outcomes: list[FileOutcome],
    options: ScanOptions,
    concurrency: int,
    on_bytes: Callable[[int], None],
    on_done: Callable[[FileOutcome], None],
) -> None:
    """Upload (and wait for) every file, `concurrency` at a time; a server-wide error stops the run."""
    pending = iter(outcomes)

    async def worker() -> None:
        for outcome in pending:
            await _scan_one(client, outcome, options, on_bytes)
            on_done(outcome)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(outcomes))):
                group.create_task(worker())
    except ExceptionGroup as errors:
        raise errors.exceptions[0] from None


async def _scan_one(
    client: AsyncClient, outcome: FileOutcome, options: ScanOptions, on_bytes: Callable[[int], None]
) -> None:
    """Submit one file and wait for its report; file-level errors are recorded, server-wide ones raised."""
    if outcome.error:
        return
    if outcome.size == 0:
        outcome.skipped = "empty file (MetaDefender rejects empty uploads)"
        return
    try:
        submission = await client.submit(
            outcome.path,
            rule=options.rule,
            archive_passwords=options.archive_passwords,
            batch=options.batch,
            progress=on_bytes,
        )
        outcome.data_id = submission.data_id
        if options.wait:
            outcome.report = await client.wait(submission.data_id, options.timeout)
    except FATAL:
        raise
    except (ScanHiveError, OSError, ValueError) as exc:
        outcome.error = str(exc)
