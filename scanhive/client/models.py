"""Typed views of MetaDefender answers; each keeps the server's JSON in `raw`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanhive.analysis import verdict as codes

#: scan_all_result_i codes meaning the analysis itself did not complete.
FAILED_CODES = frozenset(
    {codes.FAILED, codes.CANCELLED, codes.EXTRACTION_FAILED, codes.SCAN_FAILED, codes.GLOBAL_TIMEOUT}
)


def result_name(code: int) -> str:
    """The MetaDefender name of a result code, or the number for codes this table does not know."""
    return codes.NAMES.get(code, str(code))


@dataclass(frozen=True)
class Submission:
    """The answer to POST /file."""

    data_id: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Submission:
        """Parse the POST /file answer."""
        return cls(data_id=body["data_id"], raw=body)


@dataclass(frozen=True)
class FileInfo:
    """A report's file_info: name, size, type and hashes."""

    display_name: str
    file_size: int
    file_type: str
    md5: str
    sha1: str
    sha256: str

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> FileInfo:
        """Parse a file_info object."""
        return cls(
            display_name=body.get("display_name", ""),
            file_size=body.get("file_size", -1),
            file_type=body.get("file_type", ""),
            md5=body.get("md5", ""),
            sha1=body.get("sha1", ""),
            sha256=body.get("sha256", ""),
        )


@dataclass(frozen=True)
class EngineResult:
    """One engine's entry in scan_results.scan_details."""

    engine: str
    scan_result_i: int
    threat_found: str
    def_time: str

    @property
    def detected(self) -> bool:
        """Whether this engine reported a threat."""
        return codes.is_detection(self.scan_result_i)


@dataclass(frozen=True)
class ScanReport:
    """The analysis report of GET /file/{data_id} or GET /hash/{hash}."""

    data_id: str
    file: FileInfo
    scan_all_result_i: int
    scan_all_result_a: str
    progress_percentage: int
    result: str
    blocked_reason: str
    engines: tuple[EngineResult, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ScanReport:
        """Parse a MetaDefender analysis report."""
        scan = body.get("scan_results") or {}
        process = body.get("process_info") or {}
        code = scan.get("scan_all_result_i", codes.IN_PROGRESS)
        return cls(
            data_id=body.get("data_id") or scan.get("data_id", ""),
            file=FileInfo.from_json(body.get("file_info") or {}),
            scan_all_result_i=code,
            scan_all_result_a=scan.get("scan_all_result_a") or result_name(code),
            progress_percentage=scan.get("progress_percentage", 0),
            result=process.get("result", ""),
            blocked_reason=process.get("blocked_reason", ""),
            engines=tuple(
                EngineResult(
                    engine=name,
                    scan_result_i=details.get("scan_result_i", codes.IN_PROGRESS),
                    threat_found=details.get("threat_found") or "",
                    def_time=details.get("def_time") or "",
                )
                for name, details in (scan.get("scan_details") or {}).items()
            ),
            raw=body,
        )

    @property
    def done(self) -> bool:
        """Whether the analysis has finished (progress 100 and no longer Processing)."""
        return self.progress_percentage >= 100 and self.result != "Processing"

    @property
    def detected(self) -> bool:
        """Whether the combined verdict is a detection (Infected, Suspicious, ...)."""
        return codes.is_detection(self.scan_all_result_i)

    @property
    def blocked(self) -> bool:
        """Whether the rule blocked the file."""
        return self.result == "Blocked"

    @property
    def failed(self) -> bool:
        """Whether the analysis did not complete (Failed, Scan Failed, Cancelled, timeouts)."""
        return self.scan_all_result_i in FAILED_CODES

    @property
    def detected_by(self) -> list[str]:
        """Names of the engines that reported a threat."""
        return [engine.engine for engine in self.engines if engine.detected]

    @property
    def threats(self) -> list[str]:
        """Distinct threat names the engines reported, in engine order."""
        return list(dict.fromkeys(engine.threat_found for engine in self.engines if engine.threat_found))


@dataclass(frozen=True)
class HashResult:
    """One entry of a bulk hash lookup (POST /hash); scan_result_i 5 means not found."""

    hash: str
    data_id: str | None
    scan_result_i: int
    total_detected_avs: int
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> HashResult:
        """Parse one item of the POST /hash `data` list."""
        return cls(
            hash=body.get("hash", ""),
            data_id=body.get("data_id"),
            scan_result_i=body.get("scan_result_i", codes.HASH_NOT_FOUND),
            total_detected_avs=body.get("total_detected_avs", -1),
            raw=body,
        )

    @classmethod
    def from_report(cls, hash_: str, report: ScanReport | None, details: bool) -> HashResult:
        """The bulk-lookup entry for a hash looked up with GET /hash/{hash}."""
        if report is None:
            return cls.from_json({"data_id": None, "hash": hash_, "scan_result_i": codes.HASH_NOT_FOUND,
                                  "total_detected_avs": -1})
        body: dict[str, Any] = {
            "data_id": report.data_id,
            "scan_result_i": report.scan_all_result_i,
            "hash": hash_,
            "total_detected_avs": len(report.detected_by),
        }
        if details:
            body["scan_details"] = report.raw.get("scan_results", {}).get("scan_details", {})
        return cls.from_json(body)

    @property
    def found(self) -> bool:
        """Whether the server knows this hash."""
        return self.scan_result_i != codes.HASH_NOT_FOUND

    @property
    def verdict(self) -> str:
        """The result's name, or "Not Found"."""
        return result_name(self.scan_result_i) if self.found else "Not Found"

    @property
    def detected(self) -> bool:
        """Whether the latest result for this hash is a detection."""
        return self.found and codes.is_detection(self.scan_result_i)


@dataclass(frozen=True)
class BatchStatus:
    """The answer to GET /file/batch/{batch_id} (and to closing a batch)."""

    batch_id: str
    is_closed: bool
    scan_all_result_i: int
    scan_all_result_a: str
    result: str
    file_count: int
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> BatchStatus:
        """Parse a batch status report."""
        scan = body.get("scan_results") or {}
        code = scan.get("scan_all_result_i", codes.IN_PROGRESS)
        return cls(
            batch_id=body.get("batch_id") or scan.get("batch_id", ""),
            is_closed=bool(body.get("is_closed", False)),
            scan_all_result_i=code,
            scan_all_result_a=scan.get("scan_all_result_a") or result_name(code),
            result=(body.get("process_info") or {}).get("result", ""),
            file_count=(body.get("batch_files") or {}).get("batch_count", 0),
            raw=body,
        )

    @property
    def done(self) -> bool:
        """Whether the batch is closed and every file in it has finished."""
        return self.is_closed and self.result != "Processing"


@dataclass(frozen=True)
class EngineInfo:
    """One entry of GET /stat/engines."""

    eng_id: str
    eng_name: str
    eng_ver: str
    engine_type: str
    state: str
    active: bool
    def_time: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> EngineInfo:
        """Parse one /stat/engines entry."""
        return cls(
            eng_id=body.get("eng_id", ""),
            eng_name=body.get("eng_name", ""),
            eng_ver=body.get("eng_ver", ""),
            engine_type=body.get("engine_type", ""),
            state=body.get("state", ""),
            active=bool(body.get("active", False)),
            def_time=body.get("def_time") or "",
            raw=body,
        )
