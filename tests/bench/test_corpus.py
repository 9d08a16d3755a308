"""The benchmark corpus is deterministic, mixed and made of valid files."""

from __future__ import annotations

import io
import zipfile

import pefile
import pikepdf

from bench import corpus


def test_same_seed_same_bytes() -> None:
    first = list(corpus.generate(40, seed=6, large_sizes=[2 * 1024 * 1024]))
    again = list(corpus.generate(40, seed=6, large_sizes=[2 * 1024 * 1024]))
    assert [(f.name, f.data) for f in first] == [(f.name, f.data) for f in again]
    assert b"".join(corpus.stream(3 * 1024 * 1024 + 5, seed=6)) == b"".join(corpus.stream(3 * 1024 * 1024 + 5, seed=6))
    assert corpus.small_texts(3, seed=6) == corpus.small_texts(3, seed=6)


def test_other_seed_other_bytes() -> None:
    assert [f.data for f in corpus.generate(10, seed=6)] != [f.data for f in corpus.generate(10, seed=7)]


def test_mix_and_sizes() -> None:
    files = list(corpus.generate(200, seed=6))
    assert {f.kind for f in files} == {"text", "json", "csv", "pe", "docx", "xlsx", "pdf", "png", "zip"}
    assert all(corpus.MIN_SIZE // 2 <= len(f.data) <= corpus.MAX_SIZE * 5 // 4 for f in files)
    assert len(b"".join(corpus.stream(5 * 1024 * 1024 + 7, seed=6))) == 5 * 1024 * 1024 + 7


def test_files_parse_as_their_format() -> None:
    for item in corpus.generate(60, seed=6):
        if item.kind == "pe":
            assert [s.Name.rstrip(b"\0") for s in pefile.PE(data=item.data).sections] == [b".text", b".data"]
        elif item.kind == "pdf":
            assert len(pikepdf.open(io.BytesIO(item.data)).pages) == 1
        elif item.kind in ("zip", "docx", "xlsx"):
            assert zipfile.ZipFile(io.BytesIO(item.data)).testzip() is None
        elif item.kind == "png":
            assert item.data.startswith(b"\x89PNG\r\n\x1a\n")
