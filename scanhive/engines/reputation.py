"""Hash reputation: known-bad / known-good hashes imported from hash lists and threat-feed CSVs."""

from __future__ import annotations

import csv
import io
import string
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine as Database

from scanhive.analysis import verdict
from scanhive.config import Settings
from scanhive.engines.base import Engine, EngineResult, EngineStatus, ScanContext
from scanhive.store import reputation
from scanhive.store.database import open_database

_HEX = set(string.hexdigits)
_HASH_LENGTHS = (32, 40, 64, 128)
_THREAT_COLUMNS = ("signature", "threat", "threat_name", "malware", "malware_family", "name")
_STATUS_CACHE_SECONDS = 2.0


def _is_hash(token: str) -> bool:
    return len(token) in _HASH_LENGTHS and set(token) <= _HEX


def parse_hash_list(text: str) -> Iterator[tuple[str, str]]:
    """(hash, threat name) from a plain list: one hash per line (sha256sum output works too), # comments."""
    for line in text.splitlines():
        token = line.split("#", 1)[0].strip().split(maxsplit=1)
        if token and _is_hash(token[0]):
            yield token[0], ""


def parse_csv(text: str) -> Iterator[tuple[str, str]]:
    """(hash, threat name) from a CSV with a header row, such as MalwareBazaar or ThreatFox exports.

    Every column whose name mentions md5/sha1/sha256/sha512/hash contributes its hashes; the
    threat name comes from a signature/threat/malware column when there is one.
    """
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)), skipinitialspace=True)
    fields = [f.strip().strip('"').lower() for f in reader.fieldnames or []]
    reader.fieldnames = fields
    hash_columns = [f for f in fields if any(k in f for k in ("md5", "sha1", "sha256", "sha512", "hash"))]
    threat_column = next((f for f in _THREAT_COLUMNS if f in fields), None)
    for row in reader:
        threat = (row.get(threat_column) or "").strip() if threat_column else ""
        for column in hash_columns:
            value = (row.get(column) or "").strip().strip('"')
            if _is_hash(value):
                yield value, "" if threat.lower() in ("", "n/a", "none") else threat


def import_file(db: Database, path: Path, known: str) -> int:
    """Import a hash list or CSV as known-bad or known-good; returns how many hashes were stored."""
    text = path.read_text(errors="replace")
    parse = parse_csv if path.suffix.lower() == ".csv" else parse_hash_list
    return reputation.upsert(db, ((h, known, t) for h, t in parse(text)), source=path.name)


class HashReputationEngine(Engine):
    eng_id = "reputation_1_linux"
    eng_name = "Hash Reputation"
    engine_type = "reputation"
    isolated = False  # a database lookup, no native parsing of the file

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._db: Database | None = None
        self._status: tuple[float, EngineStatus] | None = None

    def _database(self) -> Database:
        if self._db is None:
            self._db = open_database(self.settings.resolved_database_url)
        return self._db

    def status(self) -> EngineStatus:
        now = time.monotonic()
        if self._status is None or now - self._status[0] > _STATUS_CACHE_SECONDS:
            imported = reputation.last_import(self._database())
            def_time = datetime.fromtimestamp(imported, tz=timezone.utc) if imported else None
            self._status = (now, EngineStatus("1.0", def_time))
        return self._status[1]

    def scan(self, path: Path, context: ScanContext) -> EngineResult:
        entry = reputation.lookup(self._database(), context.hashes.values())
        if entry is None:
            return EngineResult(verdict.UNKNOWN)
        if entry["verdict"] == reputation.BAD:
            return EngineResult(verdict.KNOWN_BAD, threat_found=entry["threat_name"] or "Known bad hash")
        return EngineResult(verdict.KNOWN_GOOD)
