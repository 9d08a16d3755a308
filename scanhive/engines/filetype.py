"""File type identification with libmagic: file_type, file_type_description and type_category."""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import magic

from scanhive.engines.base import EngineStatus

# MetaDefender's type_category groups, chosen by MIME type (exact match first, then prefix).
_CATEGORY_BY_MIME: dict[str, str] = {
    "application/zip": "A",
    "application/x-7z-compressed": "A",
    "application/x-rar": "A",
    "application/vnd.rar": "A",
    "application/x-tar": "A",
    "application/gzip": "A",
    "application/x-gzip": "A",
    "application/x-bzip2": "A",
    "application/x-xz": "A",
    "application/zstd": "A",
    "application/vnd.ms-cab-compressed": "A",
    "application/x-cpio": "A",
    "application/x-arj": "A",
    "application/x-iso9660-image": "I",
    "application/pdf": "P",
    "application/x-dosexec": "E",
    "application/vnd.microsoft.portable-executable": "E",
    "application/x-msdownload": "E",
    "application/x-executable": "E",
    "application/x-sharedlib": "E",
    "application/x-pie-executable": "E",
    "application/x-mach-binary": "E",
    "application/msword": "D",
    "application/vnd.ms-excel": "D",
    "application/vnd.ms-powerpoint": "D",
    "application/x-ole-storage": "D",
    "application/CDFV2": "D",
    "application/rtf": "D",
    "text/rtf": "D",
    "message/rfc822": "Z",
    "application/vnd.ms-outlook": "Z",
}
_CATEGORY_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("application/vnd.openxmlformats-officedocument.", "D"),
    ("application/vnd.ms-", "D"),
    ("application/vnd.oasis.opendocument.", "D"),
    ("image/", "G"),
    ("audio/", "M"),
    ("video/", "M"),
    ("text/", "T"),
)


@dataclass(frozen=True)
class FileType:
    mime: str
    description: str
    category: str  # one of MetaDefender's type_category letters


def category_of(mime: str) -> str:
    """MetaDefender type_category letter for a MIME type (O when nothing fits)."""
    if mime in _CATEGORY_BY_MIME:
        return _CATEGORY_BY_MIME[mime]
    return next((cat for prefix, cat in _CATEGORY_BY_PREFIX if mime.startswith(prefix)), "O")


class FileTypeEngine:
    """libmagic through python-magic; one instance per process (magic handles are not shared)."""

    eng_id = "filetype_1_linux"
    eng_name = "FileType"
    engine_type = "filetype"

    def __init__(self) -> None:
        self._mime = magic.Magic(mime=True)
        self._describe = magic.Magic()

    def status(self) -> EngineStatus:
        version = magic.version()
        return EngineStatus(eng_ver=f"{version // 100}.{version % 100}", def_time=_MAGIC_DB_TIME)

    def identify(self, path: Path) -> FileType:
        # libmagic has no flag that yields the MIME type and the description in one pass, so it
        # classifies twice; both passes share one open file (libmagic puts the offset back).
        fd = os.open(path, os.O_RDONLY)
        try:
            if os.fstat(fd).st_size == 0:
                return FileType("application/x-empty", "empty", "O")
            mime = self._mime.from_descriptor(fd)
            description = self._describe.from_descriptor(fd)
        finally:
            os.close(fd)
        return FileType(mime, description, category_of(mime))


def _magic_db_time() -> datetime | None:
    for candidate in (Path("/usr/share/misc/magic.mgc"), Path("/usr/lib/file/magic.mgc")):
        if candidate.exists():
            return datetime.fromtimestamp(candidate.stat().st_mtime, tz=timezone.utc)
    return None


_MAGIC_DB_TIME = _magic_db_time()


# --- extension versus content --------------------------------------------------------------------

_GROUP_DESCRIPTIONS = {
    "A": "Archive", "D": "Document", "E": "Executable", "G": "Graphical format", "I": "Disk image",
    "M": "Audio or video", "P": "PDF format", "T": "Text", "Z": "Mail message", "O": "Other",
}
#: Container formats whose content libmagic may report as the bare container (zip, OLE).
_CONTAINER_OF: dict[str, str] = {
    ".docx": "A", ".docm": "A", ".xlsx": "A", ".xlsm": "A", ".pptx": "A", ".pptm": "A",
    ".odt": "A", ".ods": "A", ".odp": "A", ".jar": "A", ".apk": "A", ".epub": "A",
}
_EXTRA_TYPES = {".docm": "D", ".xlsm": "D", ".pptm": "D", ".msg": "Z", ".eml": "Z", ".7z": "A", ".rar": "A",
                ".dll": "E", ".exe": "E", ".scr": "E", ".sys": "E", ".com": "E", ".cab": "A", ".iso": "I"}


@dataclass(frozen=True)
class TypeCheck:
    """How a file's name compares with its content."""

    mismatch: bool
    spoofed: bool
    explanation: str


def expected_category(extension: str) -> str | None:
    """The type_category an extension promises, or None when the extension tells nothing."""
    if extension in _EXTRA_TYPES:
        return _EXTRA_TYPES[extension]
    guessed, _ = mimetypes.guess_type("file" + extension, strict=False)
    return category_of(guessed) if guessed else None


def check_name(display_name: str, file_type: FileType) -> TypeCheck:
    """Compare the extension of `display_name` with the detected content type."""
    extension = PurePosixPath(display_name.replace("\\", "/")).suffix.lower()
    expected = expected_category(extension) if extension else None
    detected = file_type.category
    if expected is None or file_type.mime in ("application/octet-stream", "application/x-empty"):
        return TypeCheck(False, False, "")
    if expected == detected or _CONTAINER_OF.get(extension) == detected or {expected, detected} <= {"T", "O"}:
        return TypeCheck(False, False, "")
    spoofed = detected == "E"
    what = "Executable content" if spoofed else f"{_GROUP_DESCRIPTIONS[detected]} content ({file_type.mime})"
    return TypeCheck(True, spoofed, f"{what} named as {_GROUP_DESCRIPTIONS[expected].lower()} ({extension})")


def filetype_info(file_type: FileType, check: TypeCheck, blocked: bool) -> dict[str, object]:
    """The report's filetype_info block."""
    return {
        "file_info": {
            "description": file_type.description,
            "detected_by": "libmagic",
            "extensions": ",".join(e.lstrip(".") for e in mimetypes.guess_all_extensions(file_type.mime, strict=False)),
            "groupID": file_type.category,
            "group_description": _GROUP_DESCRIPTIONS[file_type.category],
            "type": file_type.mime,
        },
        "final_verdict": {
            "verdict": "blocked" if blocked else "allowed",
            "verdict_explanation": check.explanation if blocked else "",
        },
        "is_file_type_mismatch": check.mismatch,
        "spoofing_info": {
            "detection_result": "detected" if check.spoofed else "not detected",
            "result_explanation": check.explanation if check.spoofed else "",
            "result_overview": "Spoofed file type" if check.spoofed else "",
        },
    }
