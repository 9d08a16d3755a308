"""MetaDefender's processing-result table (scan_result_i / scan_all_result_i and their names).

The names follow seed 003's table, which the issue asks for. Core 4.3 (the recorded responses)
called 0 "Clean"; newer Core and the seed say "No Threat Detected", which is what current
integrations compare against.
"""

from __future__ import annotations

NO_THREAT = 0
INFECTED = 1
SUSPICIOUS = 2
FAILED = 3
WHITELISTED = 7
BLACKLISTED = 8
EXCEEDED_ARCHIVE_DEPTH = 9
NOT_SCANNED = 10
ENCRYPTED_ARCHIVE = 12
EXCEEDED_ARCHIVE_SIZE = 13
EXCEEDED_ARCHIVE_FILE_NUMBER = 14
PASSWORD_PROTECTED_DOCUMENT = 15
EXCEEDED_ARCHIVE_TIMEOUT = 16
MISMATCH = 17
POTENTIALLY_VULNERABLE = 18
CANCELLED = 19
SENSITIVE_DATA = 20
YARA_MATCHED = 21
POTENTIALLY_UNWANTED = 22
UNSUPPORTED_FILE_TYPE = 23
EXTRACTION_FAILED = 24
SCAN_FAILED = 25
BLOCKED_BY_CDR = 30
GLOBAL_TIMEOUT = 31
BLOCKED_BY_POST_ACTION = 36
KNOWN_BAD = 38
KNOWN_GOOD = 39
UNKNOWN = 40
IN_PROGRESS = 255

#: scan_all_result_i -> scan_all_result_a, exactly as seed 003 lists them.
NAMES: dict[int, str] = {
    0: "No Threat Detected",
    1: "Infected",
    2: "Suspicious",
    3: "Failed",
    7: "Whitelisted",
    8: "Blacklisted",
    9: "Exceeded Archive Depth",
    10: "Not Scanned",
    12: "Encrypted Archive",
    13: "Exceeded Archive Size",
    14: "Exceeded Archive File Number",
    15: "Password Protected Document",
    16: "Exceeded Archive Timeout",
    17: "Mismatch",
    18: "Potentially Vulnerable File",
    19: "Cancelled",
    20: "Sensitive Data Found",
    21: "Yara Rule Matched",
    22: "Potentially Unwanted",
    23: "Unsupported File Type",
    24: "Extraction Failed",
    25: "Scan Failed",
    26: "Suspicious Verdict by Sandbox",
    27: "Likely Malicious Verdict by Sandbox",
    28: "Malicious Verdict by Sandbox",
    29: "Blocked Verdict by Sandbox",
    30: "Blocked Verdict by Deep CDR",
    31: "Global Timeout Exceeded",
    32: "Vulnerable Verdict by SBOM",
    33: "Non-vulnerable Verdict by SBOM",
    34: "Blocked Verdict by SBOM",
    36: "Blocked by Post Action",
    38: "Known Bad",
    39: "Known Good",
    40: "Unknown",
    41: "Allowed Verdict by COO",
    42: "Blocked Verdict by COO",
    43: "Unknown Verdict by COO",
    255: "In Progress",
    1014: "Skip Processing Fast Symlink",
}

#: Hash lookup (POST /hash) answer for a hash that is unknown or malformed (seed 004).
HASH_NOT_FOUND = 5


def name(code: int) -> str:
    """scan_all_result_a for a code."""
    return NAMES[code]

# --- combining engine results into one verdict -------------------------------------------------
#
# Per-engine results rank from most to least decisive: a detection by any engine decides the
# file (Infected before Suspicious); then an engine that failed makes the whole scan Failed,
# because a file that was not fully scanned must not pass as clean; then No Threat Detected.
# A file that no engine looked at is Not Scanned. Steps that come before the engines in
# MetaDefender's order (archive limits, file type, block/allow lists, ...) decide first: the
# pipeline passes their code as `decided_before`, and the first one set wins.
_ENGINE_RANK = (INFECTED, SUSPICIOUS, FAILED, NO_THREAT)


def combine(engine_codes: list[int], decided_before: list[int | None] | None = None) -> int:
    """scan_all_result_i for a file from the earlier steps' codes and each engine's scan_result_i."""
    for code in decided_before or ():
        if code is not None:
            return code
    if not engine_codes:
        return NOT_SCANNED
    present = set(engine_codes)
    for code in _ENGINE_RANK:
        if code in present:
            return code
    return min(present)  # an engine-specific code outside the common ranks (e.g. 15, 22)


def is_detection(code: int) -> bool:
    """Whether an engine result counts towards detected_by / total_detected_avs."""
    return code in (INFECTED, SUSPICIOUS, POTENTIALLY_UNWANTED)


# --- rolling several results up into one (archives and their children, batches) ---------------
#
# The roll-up of several files is the worst of their results, most severe first: detections and
# block verdicts, then suspicion, then the reasons a file could not be fully analyzed, then the
# clean and allow-listed outcomes.
_SEVERITY = (
    INFECTED, KNOWN_BAD, BLACKLISTED, 28, 27, 29, BLOCKED_BY_CDR, 34, BLOCKED_BY_POST_ACTION, 42,
    SUSPICIOUS, POTENTIALLY_UNWANTED, YARA_MATCHED, SENSITIVE_DATA, MISMATCH, POTENTIALLY_VULNERABLE, 32, 26,
    ENCRYPTED_ARCHIVE, PASSWORD_PROTECTED_DOCUMENT, EXCEEDED_ARCHIVE_DEPTH, EXCEEDED_ARCHIVE_SIZE,
    EXCEEDED_ARCHIVE_FILE_NUMBER, EXCEEDED_ARCHIVE_TIMEOUT, EXTRACTION_FAILED, GLOBAL_TIMEOUT, FAILED,
    SCAN_FAILED, UNSUPPORTED_FILE_TYPE, CANCELLED, NOT_SCANNED, UNKNOWN, 43, 41, 33,
    NO_THREAT, KNOWN_GOOD, WHITELISTED, 1014,
)
_SEVERITY_RANK = {code: rank for rank, code in enumerate(_SEVERITY)}


def worst(codes: list[int]) -> int:
    """The most severe of several final results (No Threat Detected for none)."""
    return min(codes, key=lambda c: _SEVERITY_RANK.get(c, len(_SEVERITY)), default=NO_THREAT)
