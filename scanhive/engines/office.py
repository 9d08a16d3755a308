"""VBA and Excel 4 (XLM) macros in Office documents, found and classified with oletools' olevba.

Handles OLE files (.doc/.xls/.ppt and vbaProject.bin), OOXML packages (.docm/.xlsm/...) and
SYLK sheets. olevba lists what the macro code can do (auto-executing entry points, suspicious
keywords, IOCs, decoded obfuscated strings); this engine turns that list into a verdict.
"""

from __future__ import annotations

import os
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from oletools import crypto, olevba

from scanhive.analysis import verdict
from scanhive.engines.base import Engine, EngineResult, EngineStatus, ScanContext

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DEF_TIME = datetime.fromtimestamp(Path(olevba.__file__).stat().st_mtime, tz=timezone.utc)

Finding = tuple[str, str, str]  # olevba's (type, keyword, description)


class OfficeMacroEngine(Engine):
    eng_id = "oletools_1_linux"
    eng_name = "Office Macro"
    engine_type = "av"

    #: Passwords Office applies without asking the user, so malware encrypts with them to hide
    #: its macros from scanners; any other password makes the file a Password Protected Document.
    DEFAULT_PASSWORDS = ("VelvetSweatshop", "/01Hannes Ruescher/01")
    #: olevba keywords (lower case) by what they let a macro do.
    EXECUTE = frozenset({
        "shell", "wscript.shell", "shellexecute", "shellexecutea", "shell.application", "powershell",
        "start-process", "exec", "macscript", "invokeverb", "invokeverbex",
    })
    DOWNLOAD = frozenset({
        "urldownloadtofilea", "msxml2.xmlhttp", "microsoft.xmlhttp", "msxml2.serverxmlhttp",
        "net.webclient", "downloadfile", "downloadstring",
    })
    INJECT = frozenset({
        "virtualalloc", "virtualallocex", "rtlmovememory", "writeprocessmemory", "createthread",
        "createuserthread", "setcontextthread", "queueapcthread", "writevirtualmemory",
    })
    #: Further keywords that make an auto-executing macro suspicious.
    RISKY = EXECUTE | DOWNLOAD | INJECT | frozenset({
        "createobject", "getobject", "callbyname", "executeexcel4macro", "adodb.stream", "savetofile",
    })
    #: At most this many olevba findings go into the report (hostile code can yield thousands).
    MAX_FINDINGS = 100
    #: Characters kept of each finding's keyword and description (decoded strings can be long).
    MAX_TEXT = 200

    def status(self) -> EngineStatus:
        return EngineStatus(olevba.__version__, _DEF_TIME)

    def accepts(self, file_type: str, head: bytes) -> bool:
        return _container_kind(head) is not None

    def scan(self, path: Path, context: ScanContext) -> EngineResult:
        kind = _office_kind(path)
        if kind is None:
            return EngineResult.clean()
        if kind == "ole" and crypto.is_encrypted(str(path)):
            return self._scan_encrypted(path)
        return self._analyze(path, {})

    def _scan_encrypted(self, path: Path) -> EngineResult:
        try:
            decrypted = crypto.decrypt(str(path), list(self.DEFAULT_PASSWORDS))
        except crypto.UnsupportedEncryptionError:
            decrypted = None
        if decrypted is None:
            return EngineResult(
                verdict.PASSWORD_PROTECTED_DOCUMENT, "Encrypted document", {"encrypted": True}
            )
        try:
            return self._analyze(Path(decrypted), {"encrypted": True, "default_password": True})
        finally:
            os.unlink(decrypted)

    def _analyze(self, path: Path, details: dict[str, Any]) -> EngineResult:
        # P-code disassembly (needed only for VBA stomping detection) is off: olevba runs pcodedmp
        # with the process-wide sys.stderr swapped, left swapped when pcodedmp raises, and turns
        # olevba's logging on as a side effect.
        parser = olevba.VBA_Parser(str(path), disable_pcode=True)
        try:
            if not parser.detect_macros():
                return EngineResult(verdict.NO_THREAT, details=details)
            findings: list[Finding] = parser.analyze_macros() or []
            details["macros"] = [
                {
                    # olevba names the scanned file itself as the container of OLE modules
                    "container": "" if container == str(path) else container,
                    "stream": stream,
                    "name": name,
                    "size": len(code),
                }
                for container, stream, name, code in parser.modules or ()
            ]
            details["xlm"] = bool(parser.contains_xlm_macros)
        finally:
            parser.close()
        details["analysis"] = [
            {"type": kind, "keyword": keyword[: self.MAX_TEXT], "description": text[: self.MAX_TEXT]}
            for kind, keyword, text in findings[: self.MAX_FINDINGS]
        ]
        code, threat = self.classify(findings)
        return EngineResult(code, threat, details)

    @classmethod
    def classify(cls, findings: list[Finding]) -> tuple[int, str]:
        """Verdict and threat name for olevba's findings on one file."""
        autoexec = _unique(keyword for kind, keyword, _ in findings if kind == "AutoExec")
        suspicious = [(keyword, text) for kind, keyword, text in findings if kind == "Suspicious"]
        risky = _unique(keyword for keyword, _ in suspicious if keyword.lower() in cls.RISKY)
        if not autoexec or not risky:
            return verdict.NO_THREAT, ""
        trigger = f"{autoexec[0]} macro"
        execute = [k for k in risky if k.lower() in cls.EXECUTE]
        download = [k for k in risky if k.lower() in cls.DOWNLOAD]
        inject = [k for k in risky if k.lower() in cls.INJECT]
        # olevba also scans the strings it decoded (hex, base64, ...) and marks what it found there
        hidden = _unique(
            keyword for kind, keyword, text in findings
            if "(obfuscation:" in text and (kind == "IOC" or keyword.lower() in cls.RISKY)
        )
        if execute and download:
            return verdict.INFECTED, f"{trigger} downloads and runs a file ({', '.join(download + execute)})"
        if execute and hidden:
            return verdict.INFECTED, f"{trigger} runs an obfuscated payload ({', '.join(hidden)})"
        if len(inject) >= 3:  # e.g. allocate, copy and start a thread: a shellcode loader
            return verdict.INFECTED, f"{trigger} loads shellcode ({', '.join(inject)})"
        return verdict.SUSPICIOUS, f"{trigger} calling {', '.join(risky)}"


def _container_kind(head: bytes) -> str | None:
    """'ole', 'sylk' or 'zip' from a file's first bytes, otherwise None."""
    if head.startswith(_OLE_MAGIC):
        return "ole"
    if head.startswith(b"ID;"):  # SYLK: Excel requires "ID" as the very first bytes
        return "sylk"
    return "zip" if head.startswith(b"PK\x03\x04") else None


def _office_kind(path: Path) -> str | None:
    """'ole', 'ooxml' or 'sylk' when the file is one of those containers, otherwise None."""
    with path.open("rb") as handle:
        kind = _container_kind(handle.read(len(_OLE_MAGIC)))
    if kind != "zip":
        return kind
    try:
        with zipfile.ZipFile(path) as package:
            return "ooxml" if "[Content_Types].xml" in package.namelist() else None
    except zipfile.BadZipFile:
        return None


def _unique(items: Any) -> list[str]:
    """Items in first-seen order without repeats (olevba lists a keyword once per encoding)."""
    return list(dict.fromkeys(items))
