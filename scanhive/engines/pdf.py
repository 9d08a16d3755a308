"""Active and hidden content in PDF files (JavaScript, launch actions, embedded files, ...) via pikepdf."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

from scanhive.analysis import verdict
from scanhive.engines.base import Engine, EngineResult, EngineStatus, ScanContext

_DEF_TIME = datetime.fromtimestamp(Path(pikepdf.__file__).stat().st_mtime, tz=timezone.utc)
_CONTAINERS = (Dictionary, Array, Stream)


class PdfEngine(Engine):
    eng_id = "pdf_1_linux"
    eng_name = "PDF Analyzer"
    engine_type = "av"

    #: Objects (indirect objects and the dictionaries and arrays inside them) inspected per file,
    #: so that a hostile PDF cannot keep the engine busy.
    MAX_OBJECTS = 100_000
    #: Actions followed along an action's /Next chain.
    MAX_ACTION_CHAIN = 32
    #: Readers look for the header this far into the file; malware puts junk before it.
    HEADER_WINDOW = 1024
    #: URIs and qpdf warnings listed in the details, at most.
    MAX_LISTED = 20

    def status(self) -> EngineStatus:
        return EngineStatus(f"{pikepdf.__version__} (qpdf {pikepdf.__libqpdf_version__})", _DEF_TIME)

    def accepts(self, file_type: str, head: bytes) -> bool:
        return b"%PDF-" in head[: self.HEADER_WINDOW]

    def scan(self, path: Path, context: ScanContext) -> EngineResult:
        with path.open("rb") as handle:
            if not self.accepts(context.file_type, handle.read(self.HEADER_WINDOW)):
                return EngineResult.clean()
        try:
            pdf = pikepdf.open(path)
        except pikepdf.PasswordError:  # a user password: nothing can be read without it
            return EngineResult(
                verdict.PASSWORD_PROTECTED_DOCUMENT, "Encrypted document", {"encrypted": True}
            )
        except pikepdf.PdfError as exc:
            return self._result(["malformed structure"], {"error": _without_path(str(exc), path)})
        with pdf:
            try:
                reasons, details = self._inspect(pdf)
            except pikepdf.PdfError as exc:  # qpdf reads objects lazily, so damage can show up here
                reasons, details = [], {"error": _without_path(str(exc), path)}
            if pdf.is_encrypted:
                reasons.append("encrypted")
            warnings = [_without_path(w, path) for w in pdf.get_warnings()]
        if warnings:
            details["warnings"] = warnings[: self.MAX_LISTED]
        if warnings or "error" in details:
            reasons.append("malformed structure")
        return self._result(reasons, details)

    def _result(self, reasons: list[str], details: dict[str, Any]) -> EngineResult:
        if not reasons:
            return EngineResult(verdict.NO_THREAT, details=details)
        return EngineResult(verdict.SUSPICIOUS, ", ".join(reasons), {"reasons": reasons, **details})

    def _inspect(self, pdf: pikepdf.Pdf) -> tuple[list[str], dict[str, Any]]:
        """Reasons found by walking the objects reachable from the trailer, nearest first."""
        reasons: dict[str, None] = {}  # an ordered set
        uris: dict[str, None] = {}
        queue: deque[Any] = deque([pdf.trailer])
        seen: set[tuple[int, int]] = set()
        visited = 0
        while queue and visited < self.MAX_OBJECTS:
            obj = queue.popleft()
            if obj.is_indirect:
                if obj.objgen in seen:
                    continue
                seen.add(obj.objgen)
            visited += 1
            if isinstance(obj, Array):
                queue.extend(item for item in obj if isinstance(item, _CONTAINERS))
                continue
            for reason in self._reasons(obj, uris):
                reasons[reason] = None
            queue.extend(value for value in obj.values() if isinstance(value, _CONTAINERS))
        details: dict[str, Any] = {"objects_inspected": visited, "complete": not queue}
        if uris:
            details["uris"] = list(uris)[: self.MAX_LISTED]
        return list(reasons), details

    def _reasons(self, obj: Dictionary | Stream, uris: dict[str, None]) -> Iterator[str]:
        """What one dictionary (or stream dictionary) contributes."""
        action = obj.get("/S")
        # a /JavaScript key (not value) is the document's JavaScript names tree
        if "/JS" in obj or action == Name.JavaScript or "/JavaScript" in obj:
            yield "JavaScript"
        if action == Name.Launch:
            yield "Launch action"
        if action == Name.URI and "/URI" in obj:
            uris[str(obj.URI)] = None
        if "/EmbeddedFiles" in obj or "/EF" in obj or obj.get("/Type") == Name.EmbeddedFile:
            yield "embedded file"
        if "/XFA" in obj:
            yield "XFA form"
        # What runs by itself when the document or a page opens, not only when a user clicks:
        triggered = []
        if "/OpenAction" in obj:
            triggered.append(("on open", obj.OpenAction))
        if isinstance(obj.get("/AA"), Dictionary):
            triggered += [("in automatic action", target) for target in obj.AA.values()]
        for when, target in triggered:
            for step in self._action_chain(target):
                if step.get("/S") == Name.JavaScript:
                    yield f"JavaScript {when}"
                elif step.get("/S") == Name.URI:
                    yield f"URI action {when}"

    def _action_chain(self, action: Any) -> Iterator[Dictionary]:
        """An action (not a destination array) and the actions its /Next entries chain, bounded."""
        pending = [action] if isinstance(action, Dictionary) else []
        count = 0
        while pending and count < self.MAX_ACTION_CHAIN:
            current = pending.pop(0)
            count += 1
            yield current
            following = current.get("/Next")
            if isinstance(following, Dictionary):
                pending.append(following)
            elif isinstance(following, Array):
                pending.extend(item for item in following if isinstance(item, Dictionary))


def _without_path(message: str, path: Path) -> str:
    """A qpdf message without the stored file's path, which means nothing to the submitter."""
    return message.replace(str(path), "").lstrip(": ")
