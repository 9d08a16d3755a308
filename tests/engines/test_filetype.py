"""FileTypeEngine against libmagic's own answers for the same files."""

from __future__ import annotations

import io
import os
import sys
import zipfile
from pathlib import Path

import magic
import pytest

from scanhive.engines.filetype import FileType, FileTypeEngine, category_of


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello\n" * 100)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def engine() -> FileTypeEngine:
    return FileTypeEngine()


@pytest.mark.parametrize(
    "data",
    [b"just some harmless words\n" * 50, "héllo wörld\n".encode(), b"%PDF-1.4\n%%EOF\n", _zip(), bytes(range(256))],
    ids=["text", "utf8", "pdf", "zip", "binary"],
)
def test_identify_answers_as_libmagic_does_for_the_file(engine: FileTypeEngine, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "sample"
    path.write_bytes(data)
    mime = magic.from_file(str(path), mime=True)
    assert engine.identify(path) == FileType(mime, magic.from_file(str(path)), category_of(mime))


def test_executable_details_that_libmagic_reads_from_the_file(engine: FileTypeEngine) -> None:
    # ELF details (interpreter, build id, PIE) come from seeking in the file, not from its head
    executable = Path(os.path.realpath(sys.executable))
    assert engine.identify(executable).description == magic.from_file(str(executable))


def test_empty_file(engine: FileTypeEngine, tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.touch()
    assert engine.identify(path) == FileType("application/x-empty", "empty", "O")
