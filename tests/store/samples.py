"""Job rows and analysis records for store tests, shaped as the pipeline stores them."""

from __future__ import annotations

import hashlib
from typing import Any


def engine(name: str, code: int, engine_type: str = "av") -> dict[str, Any]:
    """One engine's stored record."""
    return {
        name: {
            "eng_id": f"{name.lower()}_1_linux",
            "engine_type": engine_type,
            "scan_result_i": code,
            "threat_found": "" if code in (0, 39, 40) else "Threat",
            "def_time": "",
            "scan_time": 1,
            "wait_time": 0,
            "details": {},
        }
    }


def record(*engines: dict[str, Any]) -> dict[str, Any]:
    """An analysis record with these engines' records."""
    return {"file_type": {}, "engines": {name: e for one in engines for name, e in one.items()}, "timings": {}}


#: Records and how many detections each holds: Infected, Suspicious and Potentially Unwanted
#: count, the other results and the reputation lookup (even Known Bad) do not.
DETECTED = record(engine("ClamAV", 1), engine("YARA", 2), engine("PE", 0), engine("Reputation", 38, "reputation"))
UNWANTED = record(engine("ClamAV", 22), engine("YARA", 3), engine("Office", 10))
CLEAN = record(engine("ClamAV", 0), engine("YARA", 0), engine("Reputation", 40, "reputation"))
KNOWN_BAD_ONLY = record(engine("Reputation", 38, "reputation"))
COUNTS = {"detected": (DETECTED, 2), "unwanted": (UNWANTED, 1), "clean": (CLEAN, 0), "known-bad-only": (KNOWN_BAD_ONLY, 0)}


def job(number: int, **values: Any) -> dict[str, Any]:
    """An upload's row values as jobs.insert takes them, with the hashes of a content of its own."""
    content = f"store test file {number}".encode()
    return {
        "data_id": f"{number:032x}",
        "display_name": f"file{number}.bin",
        "file_size": len(content),
        **{name: hashlib.new(name, content).hexdigest() for name in ("md5", "sha1", "sha256", "sha512")},
        "storage_key": f"{number:032x}",
        "rule": "File Scan",
        "user_agent": "",
        "username": "",
        "depth": 0,
        "hash_time": 0,
        "upload_ts": 1_700_000_000.0 + number,
        **values,
    }
