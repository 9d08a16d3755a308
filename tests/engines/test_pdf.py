"""PdfEngine on PDFs written with pikepdf at test time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, String

from scanhive.analysis import verdict
from scanhive.config import Settings
from scanhive.engines.base import EngineResult, ScanContext
from scanhive.engines.pdf import PdfEngine


def javascript(code: str = "app.alert('hi')") -> Dictionary:
    return Dictionary(S=Name.JavaScript, JS=String(code))


def build(
    tmp_path: Path, change: Callable[[pikepdf.Pdf], None] = lambda pdf: None, pages: int = 1, **save: object
) -> Path:
    """A PDF with blank pages, changed by `change` before it is saved."""
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page()
    change(pdf)
    path = tmp_path / "sample.pdf"
    pdf.save(path, **save)
    return path


@pytest.fixture()
def engine() -> PdfEngine:
    return PdfEngine(Settings())


def scan(engine: PdfEngine, path: Path) -> EngineResult:
    return engine.scan(path, ScanContext(display_name=path.name, file_type="application/pdf", timeout=10))


def test_status_names_pikepdf_and_qpdf(engine: PdfEngine) -> None:
    assert "qpdf" in engine.status().eng_ver


def test_plain_pdf_is_clean(engine: PdfEngine, tmp_path: Path) -> None:
    result = scan(engine, build(tmp_path))
    assert result.scan_result_i == verdict.NO_THREAT
    assert result.threat_found == ""
    assert result.details["complete"] is True and result.details["objects_inspected"] >= 4


def test_non_pdf_is_not_analyzed(engine: PdfEngine, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"/JavaScript /OpenAction /Launch\n")
    assert scan(engine, path) == EngineResult.clean()


def test_openaction_javascript(engine: PdfEngine, tmp_path: Path) -> None:
    result = scan(engine, build(tmp_path, lambda pdf: setattr(pdf.Root, "OpenAction", javascript())))
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.threat_found == "JavaScript on open, JavaScript"
    assert result.details["reasons"] == ["JavaScript on open", "JavaScript"]


def test_javascript_at_the_end_of_an_openaction_chain(engine: PdfEngine, tmp_path: Path) -> None:
    def change(pdf: pikepdf.Pdf) -> None:
        def go_to() -> Dictionary:
            return Dictionary(S=Name.GoTo, D=Array([pdf.pages[0].obj, Name.Fit]))

        first = go_to()
        first.Next = Array([go_to(), pdf.make_indirect(javascript())])
        pdf.Root.OpenAction = first

    result = scan(engine, build(tmp_path, change))
    assert result.details["reasons"] == ["JavaScript on open", "JavaScript"]


def test_javascript_names_tree(engine: PdfEngine, tmp_path: Path) -> None:
    def change(pdf: pikepdf.Pdf) -> None:
        names = Dictionary(Names=Array([String("init"), pdf.make_indirect(javascript())]))
        pdf.Root.Names = pdf.make_indirect(Dictionary(JavaScript=pdf.make_indirect(names)))

    result = scan(engine, build(tmp_path, change))
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.details["reasons"] == ["JavaScript"]


def test_page_additional_action_javascript(engine: PdfEngine, tmp_path: Path) -> None:
    def change(pdf: pikepdf.Pdf) -> None:
        pdf.pages[0].obj.AA = Dictionary(O=pdf.make_indirect(javascript()))

    result = scan(engine, build(tmp_path, change))
    assert result.details["reasons"] == ["JavaScript in automatic action", "JavaScript"]


def test_launch_action(engine: PdfEngine, tmp_path: Path) -> None:
    launch = Dictionary(S=Name.Launch, Win=Dictionary(F=String("cmd.exe"), P=String("/c calc")))
    result = scan(engine, build(tmp_path, lambda pdf: setattr(pdf.Root, "OpenAction", launch)))
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.threat_found == "Launch action"


def test_embedded_file(engine: PdfEngine, tmp_path: Path) -> None:
    def change(pdf: pikepdf.Pdf) -> None:
        attachment = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00", mime_type="application/x-dosexec")
        pdf.attachments["invoice.exe"] = attachment

    result = scan(engine, build(tmp_path, change))
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.details["reasons"] == ["embedded file"]


def test_xfa_form(engine: PdfEngine, tmp_path: Path) -> None:
    def change(pdf: pikepdf.Pdf) -> None:
        xfa = pdf.make_stream(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'/>")
        pdf.Root.AcroForm = Dictionary(Fields=Array(), XFA=xfa)

    result = scan(engine, build(tmp_path, change))
    assert result.details["reasons"] == ["XFA form"]


def test_link_is_listed_but_clean(engine: PdfEngine, tmp_path: Path) -> None:
    def change(pdf: pikepdf.Pdf) -> None:
        link = Dictionary(
            Type=Name.Annot, Subtype=Name.Link, Rect=Array([0, 0, 100, 20]),
            A=Dictionary(S=Name.URI, URI=String("https://example.org/help")),
        )
        pdf.pages[0].obj.Annots = Array([pdf.make_indirect(link)])

    result = scan(engine, build(tmp_path, change))
    assert result.scan_result_i == verdict.NO_THREAT
    assert result.details["uris"] == ["https://example.org/help"]


def test_uri_opened_automatically(engine: PdfEngine, tmp_path: Path) -> None:
    visit = Dictionary(S=Name.URI, URI=String("http://phish.example/login"))
    result = scan(engine, build(tmp_path, lambda pdf: setattr(pdf.Root, "OpenAction", visit)))
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.threat_found == "URI action on open"
    assert result.details["uris"] == ["http://phish.example/login"]


def test_encrypted_without_user_password_is_inspected(engine: PdfEngine, tmp_path: Path) -> None:
    path = build(
        tmp_path, lambda pdf: setattr(pdf.Root, "OpenAction", javascript()),
        encryption=pikepdf.Encryption(owner="owner", user=""),
    )
    result = scan(engine, path)
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.details["reasons"] == ["JavaScript on open", "JavaScript", "encrypted"]


def test_user_password_makes_a_password_protected_document(engine: PdfEngine, tmp_path: Path) -> None:
    result = scan(engine, build(tmp_path, encryption=pikepdf.Encryption(owner="owner", user="user")))
    assert result.scan_result_i == verdict.PASSWORD_PROTECTED_DOCUMENT
    assert result.details == {"encrypted": True}


def test_repaired_cross_reference_table_is_malformed(engine: PdfEngine, tmp_path: Path) -> None:
    path = build(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"startxref", b"startxrex"))
    result = scan(engine, path)
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.threat_found == "malformed structure"
    assert "can't find startxref" in result.details["warnings"]
    assert not any(str(tmp_path) in warning for warning in result.details["warnings"])


def test_unparseable_pdf_is_malformed(engine: PdfEngine, tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 64)
    result = scan(engine, path)
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.details["reasons"] == ["malformed structure"]
    assert "trailer" in result.details["error"] and str(tmp_path) not in result.details["error"]


def test_header_after_leading_junk_is_still_a_pdf(engine: PdfEngine, tmp_path: Path) -> None:
    path = build(tmp_path, lambda pdf: setattr(pdf.Root, "OpenAction", javascript()))
    path.write_bytes(b"\x00" * 500 + path.read_bytes())
    assert "JavaScript on open" in scan(engine, path).details["reasons"]


def test_accepts_a_header_within_the_readers_window(engine: PdfEngine) -> None:
    assert engine.accepts("application/pdf", b"%PDF-1.7\n")
    assert engine.accepts("application/octet-stream", b"\x00" * 500 + b"%PDF-1.7\n")
    assert not engine.accepts("application/octet-stream", b"\x00" * PdfEngine.HEADER_WINDOW + b"%PDF-1.7\n")
    assert not engine.accepts("text/plain", b"/JavaScript /OpenAction /Launch\n")


def test_walk_stops_at_the_object_limit(engine: PdfEngine, tmp_path: Path) -> None:
    engine.MAX_OBJECTS = 5
    result = scan(engine, build(tmp_path, pages=50))
    assert result.details["objects_inspected"] == 5
    assert result.details["complete"] is False
