"""scanhive.analysis.extraction: every archive is built here, at test time, in tmp_path."""

from __future__ import annotations

import bz2
import gzip
import io
import itertools
import lzma
import random
import re
import shutil
import stat
import struct
import subprocess
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import libarchive
import magic
import py7zr
import pytest
import pyzipper
import zstandard

from scanhive.analysis import extraction, verdict
from scanhive.analysis.extraction import Extraction, ExtractionLimits, extract, is_container, is_document
from tests.archive_samples import build_arj
from tests.engines.office_samples import docx_embedding, ole_package

FILES = {"a.txt": b"alpha\n" * 50, "dir/b.bin": bytes(range(256)) * 8}
MB = 1024 * 1024


# -- building archives -------------------------------------------------------------------------


def build_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    """A deflated zip; a ZipInfo entry keeps its own name and attributes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are intended in some tests
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return path


def build_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]], mode: str = "w") -> Path:
    """A tar (mode "w:gz" etc. compresses it) from prepared members."""
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as archive:
        for member, data in members:
            member.size = len(data) if member.isreg() else 0
            archive.addfile(member, io.BytesIO(data) if member.isreg() else None)
    return path


def tar_file(name: str) -> tarfile.TarInfo:
    """A regular tar member."""
    return tarfile.TarInfo(name)


def tar_special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    """A tar member of another type (symlink, hard link, device, FIFO)."""
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, target
    return member


def build_libarchive(path: Path, fmt: str, entries: dict[str, bytes]) -> Path:
    """An archive that libarchive writes (cpio_newc, iso9660, ...)."""
    with libarchive.file_writer(str(path), fmt) as archive:
        for name, data in entries.items():
            archive.add_file_from_memory(name, len(data), data)
    return path


def build_7z(path: Path, entries: dict[str, bytes], **options: object) -> Path:
    """A 7z through py7zr (password=..., header_encryption=...)."""
    with py7zr.SevenZipFile(path, "w", **options) as archive:
        for name, data in entries.items():
            archive.writestr(data, name)
    return path


def build_rar(path: Path, entries: list[tuple[str, bytes, int, int]], main_flags: int = 0) -> Path:
    """A RAR 2.9 archive of stored entries (name, data, file flags, unix mode).

    No RAR writer is free software, so the headers are written here from the RAR 2.9 technote;
    stored entries need no compressor.
    """

    def block(kind: int, flags: int, body: bytes) -> bytes:
        head = struct.pack("<BHH", kind, flags, 7 + len(body)) + body
        return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head

    out = b"Rar!\x1a\x07\x00" + block(0x73, main_flags, bytes(6))
    for name, data, flags, mode in entries:
        raw = name.encode()
        body = struct.pack(
            "<IIBIIBBHI", len(data), len(data), 3, zlib.crc32(data), 0, 20, 0x30, len(raw), mode
        )
        out += block(0x74, 0x8000 | flags, body + raw) + data  # 0x8000: a data area follows
    path.write_bytes(out + block(0x7B, 0x4000, b""))
    return path


def build_cab(path: Path, entries: dict[str, bytes]) -> Path:
    """A cabinet of one stored folder, written from the CAB format spec: no cab writer is packaged."""
    records, data = b"", b""
    for name, content in entries.items():
        records += struct.pack("<IIHHHH", len(content), len(data), 0, 0x5A21, 0, 0x20) + name.encode() + b"\0"
        data += content
    pieces = [data[i : i + 32768] for i in range(0, len(data), 32768)]
    blocks = b"".join(
        struct.pack("<IHH", 0, len(piece), len(piece)) + piece for piece in pieces
    )  # no checksum
    start = 36 + 8 + len(records)
    header = struct.pack(
        "<4sIIIIIBBHHHHH", b"MSCF", 0, start + len(blocks), 0, 44, 0, 3, 1, 1, len(entries), 0, 0, 0
    )
    folder = struct.pack("<IHH", start, len(pieces), 0)  # type 0: stored
    path.write_bytes(header + folder + records + blocks)
    return path


def zeros(size: int) -> bytes:
    """Highly compressible content for bombs."""
    return bytes(size)


# -- running and checking ----------------------------------------------------------------------


def run(archive: Path, tmp_path: Path, mime: str | None = None, **options: object) -> Extraction:
    """Extract into tmp_path/out with the MIME type libmagic gives the archive."""
    options.setdefault("depth", 0)
    options.setdefault("limits", ExtractionLimits())
    return extract(archive, mime or magic.from_file(str(archive), mime=True), tmp_path / "out", **options)


def contents(result: Extraction) -> list[tuple[str, bytes]]:
    """(name, bytes) of every extracted file, sorted."""
    return sorted((child.name, child.path.read_bytes()) for child in result.files)


def snapshot(root: Path, exclude: Path) -> dict[str, tuple[bool, bytes]]:
    """Everything under root except `exclude`: path -> (is a symlink, content or link target)."""
    seen = {}
    for item in root.rglob("*"):
        if item == exclude or exclude in item.parents:
            continue
        if item.is_symlink():
            seen[str(item)] = (True, str(item.readlink()).encode())
        elif item.is_file():
            seen[str(item)] = (False, item.read_bytes())
        else:
            seen[str(item)] = (False, b"<dir>")
    return seen


def assert_confined(tmp_path: Path, before: dict[str, tuple[bool, bytes]], result: Extraction) -> None:
    """Nothing changed outside tmp_path/out, and inside it only the reported files, plain and generated."""
    dest = tmp_path / "out"
    assert snapshot(tmp_path, dest) == before
    inside = list(dest.rglob("*")) if dest.exists() else []
    for item in inside:
        assert item.parent == dest and re.fullmatch(r"\d+", item.name), item
        assert item.is_file() and not item.is_symlink(), item
    assert sorted(inside) == sorted(child.path for child in result.files)
    for name in [child.name for child in result.files] + result.skipped:
        assert_clean(name)


def assert_clean(name: str) -> None:
    """A sanitised entry name: relative, '/'-separated, no traversal, drive or control characters."""
    assert name and not name.startswith("/") and "\\" not in name, name
    assert not re.match(r"^[A-Za-z]:", name) and not re.search(r"[\x00-\x1f\x7f]", name), name
    assert all(part not in ("", ".", "..") for part in name.split("/")), name


# -- formats -----------------------------------------------------------------------------------


def _zip(tmp: Path) -> Path:
    return build_zip(tmp / "a.zip", list(FILES.items()))


def _7z(tmp: Path) -> Path:
    return build_7z(tmp / "a.7z", FILES)


def _arj(tmp: Path) -> Path:
    return build_arj(tmp / "a.arj", FILES)


def _rar(tmp: Path) -> Path:
    return build_rar(tmp / "a.rar", [(name, data, 0, 0o100644) for name, data in FILES.items()])


def _tar(mode: str, suffix: str) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        return build_tar(tmp / f"a.tar{suffix}", [(tar_file(n), d) for n, d in FILES.items()], mode)

    return build


def _tar_zst(tmp: Path) -> Path:
    plain = build_tar(tmp / "plain.tar", [(tar_file(n), d) for n, d in FILES.items()])
    target = tmp / "a.tar.zst"
    target.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    plain.unlink()
    return target


def _libarchive(fmt: str, suffix: str) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        return build_libarchive(tmp / f"a.{suffix}", fmt, FILES)

    return build


def _cab(tmp: Path) -> Path:
    return build_cab(tmp / "a.cab", {name.replace("/", "\\"): data for name, data in FILES.items()})


@pytest.mark.parametrize(
    ("build", "mime"),
    [
        (_zip, "application/zip"),
        (_7z, "application/x-7z-compressed"),
        (_rar, "application/x-rar"),
        (_tar("w", ""), "application/x-tar"),
        (_tar("w:gz", ".gz"), "application/gzip"),
        (_tar("w:bz2", ".bz2"), "application/x-bzip2"),
        (_tar("w:xz", ".xz"), "application/x-xz"),
        (_tar_zst, "application/zstd"),
        (_cab, "application/vnd.ms-cab-compressed"),
        (_libarchive("iso9660", "iso"), "application/x-iso9660-image"),
        (_libarchive("cpio_newc", "cpio"), "application/x-cpio"),
        (_arj, "application/x-arj"),
    ],
    ids=["zip", "7z", "rar", "tar", "tar.gz", "tar.bz2", "tar.xz", "tar.zst", "cab", "iso", "cpio", "arj"],
)
def test_each_archive_format_yields_its_files(
    tmp_path: Path, build: Callable[[Path], Path], mime: str
) -> None:
    archive = build(tmp_path)
    assert magic.from_file(str(archive), mime=True) == mime and is_container(mime)
    before = snapshot(tmp_path, tmp_path / "out")

    result = run(archive, tmp_path)

    assert result.code is None, result.info
    assert contents(result) == sorted(FILES.items())
    assert [child.size for child in sorted(result.files, key=lambda c: c.name)] == [50 * 6, 256 * 8]
    assert result.info == {"is_encrypted_file": False}
    assert_confined(tmp_path, before, result)


@pytest.mark.parametrize(
    ("compress", "suffix", "mime"),
    [
        (gzip.compress, "gz", "application/gzip"),
        (bz2.compress, "bz2", "application/x-bzip2"),
        (lzma.compress, "xz", "application/x-xz"),
        (zstandard.ZstdCompressor().compress, "zst", "application/zstd"),
    ],
)
def test_plain_compressed_file_has_one_child_named_without_the_suffix(
    tmp_path: Path, compress: Callable[[bytes], bytes], suffix: str, mime: str
) -> None:
    archive = tmp_path / f"report.txt.{suffix}"
    archive.write_bytes(compress(b"not a tar header, just text\n" * 100))
    assert magic.from_file(str(archive), mime=True) == mime

    result = run(archive, tmp_path, name=f"report.txt.{suffix.upper()}")

    assert result.code is None
    assert contents(result) == [("report.txt", b"not a tar header, just text\n" * 100)]


def test_is_container_only_for_archive_and_document_types() -> None:
    assert not is_container("text/plain")
    assert not is_container("application/pdf")
    assert is_container("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert is_document("application/msword") and not is_document("application/zip")
    with pytest.raises(ValueError):
        extract(Path("x"), "text/plain", Path("y"), depth=0, limits=ExtractionLimits())


# -- limits ------------------------------------------------------------------------------------


def test_zip_bomb_stops_at_the_size_limit_with_nothing_over_it_on_disk(tmp_path: Path) -> None:
    archive = build_zip(tmp_path / "bomb.zip", [("small.txt", b"fine"), ("bomb.bin", zeros(50 * MB))])
    assert archive.stat().st_size < MB
    limits = ExtractionLimits(max_total_size=10 * MB)
    before = snapshot(tmp_path, tmp_path / "out")

    result = run(archive, tmp_path, limits=limits)

    assert result.code == verdict.EXCEEDED_ARCHIVE_SIZE
    assert result.info["err_code"] == 13 and result.info["err_category"] == "Exceeded Archive Size"
    assert contents(result) == [("small.txt", b"fine")]  # the partial bomb.bin is removed
    assert sum(item.stat().st_size for item in (tmp_path / "out").iterdir()) <= limits.max_total_size
    assert_confined(tmp_path, before, result)


def test_gzip_bomb_is_counted_while_streaming_without_a_declared_size(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.gz"
    archive.write_bytes(gzip.compress(zeros(50 * MB), compresslevel=1))

    result = run(archive, tmp_path, limits=ExtractionLimits(max_total_size=10 * MB))

    assert result.code == verdict.EXCEEDED_ARCHIVE_SIZE
    assert result.files == [] and list((tmp_path / "out").iterdir()) == []


def test_arj_bomb_stops_at_the_size_limit(tmp_path: Path) -> None:
    archive = build_arj(tmp_path / "bomb.arj", {"small.txt": b"fine", "bomb.bin": zeros(20 * MB)})
    assert archive.stat().st_size < 2 * MB
    before = snapshot(tmp_path, tmp_path / "out")

    result = run(archive, tmp_path, limits=ExtractionLimits(max_total_size=4 * MB))

    assert result.code == verdict.EXCEEDED_ARCHIVE_SIZE
    assert contents(result) == [("small.txt", b"fine")]
    assert_confined(tmp_path, before, result)


def test_encrypted_arj_is_an_encrypted_archive(tmp_path: Path) -> None:
    archive = build_arj(tmp_path / "secret.arj", FILES, "-gS3CRET")

    result = run(archive, tmp_path, passwords=["S3CRET"])  # 7z cannot decrypt ARJ: even the right one fails

    assert result.code == verdict.ENCRYPTED_ARCHIVE and result.files == []
    assert result.info["decrypted_status"] == "Failed"


def test_tar_and_7z_bombs_stop_at_the_size_limit(tmp_path: Path) -> None:
    tar = build_tar(tmp_path / "bomb.tar.xz", [(tar_file("bomb"), zeros(30 * MB))], "w:xz")
    seven = build_7z(tmp_path / "bomb.7z", {"bomb": zeros(30 * MB)})
    for archive in (tar, seven):
        result = run(archive, tmp_path, limits=ExtractionLimits(max_total_size=10 * MB))
        assert result.code == verdict.EXCEEDED_ARCHIVE_SIZE, archive
        assert result.files == [] and list((tmp_path / "out").iterdir()) == []


def test_a_bomb_in_a_skipped_entry_still_counts(tmp_path: Path) -> None:
    link = tar_special("hl", tarfile.LNKTYPE, "f")
    link.size = 30 * MB
    link.pax_headers = {"size": str(link.size)}  # pax lets a hard link carry data, and libarchive reads it
    archive = tmp_path / "hidden.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1, format=tarfile.PAX_FORMAT) as out:
        out.addfile(link, io.BytesIO(zeros(30 * MB)))
        out.addfile(tar_file("f"), io.BytesIO(b""))

    result = run(archive, tmp_path, limits=ExtractionLimits(max_total_size=10 * MB))

    assert result.code == verdict.EXCEEDED_ARCHIVE_SIZE
    assert result.files == [] and result.skipped == []


def test_one_file_over_the_file_size_limit_stops_the_archive(tmp_path: Path) -> None:
    archive = build_zip(
        tmp_path / "a.zip", [("ok.bin", zeros(MB)), ("big.bin", zeros(3 * MB)), ("late", b"x")]
    )

    result = run(archive, tmp_path, limits=ExtractionLimits(max_file_size=2 * MB))

    assert result.code == verdict.EXCEEDED_ARCHIVE_SIZE
    assert [child.name for child in result.files] == ["ok.bin"]
    assert "big.bin" in result.info["err_details"]


@pytest.mark.parametrize("fmt", ["zip", "tar", "7z", "arj"])
def test_more_entries_than_allowed_keeps_the_first_ones(tmp_path: Path, fmt: str) -> None:
    entries = {f"f{i:02}.txt": str(i).encode() for i in range(30)}
    if fmt == "zip":
        archive = build_zip(tmp_path / "many.zip", list(entries.items()))
    elif fmt == "tar":
        archive = build_tar(tmp_path / "many.tar", [(tar_file(n), d) for n, d in entries.items()])
    elif fmt == "arj":
        archive = build_arj(tmp_path / "many.arj", entries)
    else:
        archive = build_7z(tmp_path / "many.7z", entries)

    result = run(archive, tmp_path, limits=ExtractionLimits(max_files=10))

    assert result.code == verdict.EXCEEDED_ARCHIVE_FILE_NUMBER
    assert len(result.files) == 10 and len(list((tmp_path / "out").iterdir())) == 10
    assert {child.name for child in result.files} <= set(entries)


def test_exactly_the_allowed_number_of_entries_is_fine(tmp_path: Path) -> None:
    archive = build_zip(tmp_path / "ten.zip", [(f"f{i}", b"x") for i in range(10)])
    assert run(archive, tmp_path, limits=ExtractionLimits(max_files=10)).code is None


def test_nested_archives_stop_at_the_depth_limit(tmp_path: Path) -> None:
    payload = build_zip(tmp_path / "level2.zip", [("payload.txt", b"deep")])
    middle = build_zip(tmp_path / "level1.zip", [("level2.zip", payload.read_bytes())])
    outer = build_zip(tmp_path / "level0.zip", [("level1.zip", middle.read_bytes())])
    limits = ExtractionLimits(max_depth=2)
    codes, names, queue = [], [], [(outer, 0)]
    while queue:  # what the pipeline does: each child is extracted again one level deeper
        archive, depth = queue.pop()
        result = extract(archive, "application/zip", tmp_path / f"out{depth}", depth=depth, limits=limits)
        codes.append(result.code)
        names += [child.name for child in result.files]
        queue += [(child.path, depth + 1) for child in result.files if child.name.endswith(".zip")]

    assert codes == [None, None, verdict.EXCEEDED_ARCHIVE_DEPTH]
    assert names == ["level1.zip", "level2.zip"]  # payload.txt was never extracted
    assert not (tmp_path / "out2").exists()


def test_depth_limit_reports_extraction_info_without_opening(tmp_path: Path) -> None:
    archive = tmp_path / "not-even-read.zip"  # does not exist: a container at the limit is not opened

    result = run(archive, tmp_path, mime="application/zip", depth=5)

    assert result.code == verdict.EXCEEDED_ARCHIVE_DEPTH
    assert result.info["err_category"] == "Exceeded Archive Depth" and result.info["err_code"] == 9


def test_timeout_is_enforced_while_one_entry_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = build_zip(tmp_path / "slow.zip", [("big.bin", zeros(20 * MB))])  # 320 chunks of 64 KiB
    ticks = itertools.count()
    monkeypatch.setattr(extraction.time, "monotonic", lambda: next(ticks))  # each look at the clock: 1 s

    result = run(archive, tmp_path, limits=ExtractionLimits(timeout=10))

    assert result.code == verdict.EXCEEDED_ARCHIVE_TIMEOUT
    assert result.info["err_category"] == "Exceeded Archive Timeout"
    assert next(ticks) < 20  # stopped a few chunks into the entry, not at its end
    assert result.files == [] and list((tmp_path / "out").iterdir()) == []


def test_timeout_keeps_the_files_finished_before_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = build_tar(
        tmp_path / "t.tar.gz", [(tar_file(f"f{i}"), zeros(2 * MB)) for i in range(10)], "w:gz"
    )
    ticks = itertools.count()
    monkeypatch.setattr(extraction.time, "monotonic", lambda: next(ticks))

    result = run(archive, tmp_path, limits=ExtractionLimits(timeout=100))  # about 3 files' worth of chunks

    assert result.code == verdict.EXCEEDED_ARCHIVE_TIMEOUT
    assert 0 < len(result.files) < 10 and all(child.size == 2 * MB for child in result.files)
    assert len(list((tmp_path / "out").iterdir())) == len(result.files)


@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_timeout_is_checked_between_entries_that_carry_no_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    if fmt == "zip":
        archive = build_zip(tmp_path / "dirs.zip", [(f"d{i}/", b"") for i in range(50)])
    else:
        archive = build_tar(
            tmp_path / "dirs.tar", [(tar_special(f"d{i}", tarfile.DIRTYPE), b"") for i in range(50)]
        )
    ticks = itertools.count()
    monkeypatch.setattr(extraction.time, "monotonic", lambda: next(ticks))

    assert (
        run(archive, tmp_path, limits=ExtractionLimits(timeout=20)).code == verdict.EXCEEDED_ARCHIVE_TIMEOUT
    )


def test_timeout_runs_on_the_real_clock(tmp_path: Path) -> None:
    archive = build_zip(tmp_path / "a.zip", list(FILES.items()))

    assert run(archive, tmp_path, limits=ExtractionLimits(timeout=0)).code == verdict.EXCEEDED_ARCHIVE_TIMEOUT


# -- passwords ---------------------------------------------------------------------------------


def _aes_zip(tmp: Path) -> Path:
    with pyzipper.AESZipFile(
        tmp / "aes.zip", "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as z:
        z.setpassword(b"s3cret")
        for name, data in FILES.items():
            z.writestr(name, data)
    return tmp / "aes.zip"


def _zipcrypto_zip(tmp: Path) -> Path:
    if shutil.which("zip") is None:
        pytest.skip("building a ZipCrypto zip needs the zip command (Debian package zip)")
    for name, data in FILES.items():
        (tmp / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "src" / name).write_bytes(data)
    subprocess.run(["zip", "-q", "-r", "-P", "s3cret", str(tmp / "zc.zip"), "."], cwd=tmp / "src", check=True)
    shutil.rmtree(tmp / "src")
    return tmp / "zc.zip"


def _encrypted_7z(tmp: Path) -> Path:
    return build_7z(tmp / "enc.7z", FILES, password="s3cret")


def _header_encrypted_7z(tmp: Path) -> Path:
    return build_7z(tmp / "hdr.7z", FILES, password="s3cret", header_encryption=True)


ENCRYPTED = pytest.mark.parametrize(
    "build",
    [_aes_zip, _zipcrypto_zip, _encrypted_7z, _header_encrypted_7z],
    ids=["aes", "zipcrypto", "7z", "7z-headers"],
)


@ENCRYPTED
def test_right_password_in_the_list_opens_it(tmp_path: Path, build: Callable[[Path], Path]) -> None:
    archive = build(tmp_path)

    result = run(archive, tmp_path, passwords=["wrong", "also wrong", "s3cret"])

    assert result.code is None, result.info
    assert contents(result) == sorted(FILES.items())
    assert result.info == {"is_encrypted_file": True, "decrypted_status": "Success"}


@ENCRYPTED
@pytest.mark.parametrize("passwords", [[], ["wrong", "S3CRET"]], ids=["none", "wrong"])
def test_no_working_password_is_an_encrypted_archive(
    tmp_path: Path, build: Callable[[Path], Path], passwords: list[str]
) -> None:
    archive = build(tmp_path)

    result = run(archive, tmp_path, passwords=passwords)

    assert result.code == verdict.ENCRYPTED_ARCHIVE
    assert result.files == [] and list((tmp_path / "out").iterdir()) == []
    assert result.info["is_encrypted_file"] is True and result.info["decrypted_status"] == "Failed"
    assert result.info["err_code"] == 12 and result.info["err_category"] == "Encrypted Archive"


def test_a_password_that_fails_part_way_leaves_nothing_behind(tmp_path: Path) -> None:
    noise = random.Random(0)
    archive = build_7z(
        tmp_path / "c.7z", {"a": noise.randbytes(100_000), "b": noise.randbytes(100_000)}, password="pw"
    )
    damaged = bytearray(archive.read_bytes())
    damaged[150_000] ^= 0xFF  # inside b: a decrypts and passes its CRC, b does not
    archive.write_bytes(damaged)

    result = run(archive, tmp_path, passwords=["pw"])

    assert result.code == verdict.ENCRYPTED_ARCHIVE
    assert result.files == [] and list((tmp_path / "out").iterdir()) == []


def test_a_wrong_password_that_passes_the_zipcrypto_check_byte_is_still_wrong(tmp_path: Path) -> None:
    archive = _zipcrypto_zip(tmp_path)
    with pyzipper.AESZipFile(archive) as opened:  # 1 in 256 wrong passwords passes the check byte
        first = next(info for info in opened.infolist() if not info.is_dir())
        lucky = next(
            guess for guess in (f"guess{i}" for i in range(100_000)) if _passes_check(opened, first, guess)
        )

    assert contents(run(archive, tmp_path, passwords=[lucky, "s3cret"])) == sorted(FILES.items())
    shutil.rmtree(tmp_path / "out")
    assert run(archive, tmp_path, passwords=[lucky]).code == verdict.ENCRYPTED_ARCHIVE


def _passes_check(archive: pyzipper.AESZipFile, info: pyzipper.ZipInfo, password: str) -> bool:
    try:
        archive.open(info, pwd=password.encode()).close()
    except RuntimeError:  # "Bad password"
        return False
    return True


def test_plain_entries_beside_a_locked_one_are_still_extracted(tmp_path: Path) -> None:
    archive = tmp_path / "mixed.zip"
    with pyzipper.AESZipFile(archive, "w", compression=pyzipper.ZIP_DEFLATED) as z:
        z.writestr("plain.txt", b"open")
        z.setpassword(b"s3cret")
        z.setencryption(pyzipper.WZ_AES)
        z.writestr("locked.txt", b"closed")

    result = run(archive, tmp_path)

    assert result.code == verdict.ENCRYPTED_ARCHIVE
    assert contents(result) == [("plain.txt", b"open")]


def test_encrypted_rar_entry_is_an_encrypted_archive_and_its_ciphertext_is_not_a_child(
    tmp_path: Path,
) -> None:
    entries = [
        ("open.txt", b"open", 0, 0o100644),
        ("enc.txt", b"ciphertext", 0x4, 0o100644),
    ]  # 0x4: encrypted
    archive = build_rar(tmp_path / "e.rar", entries)

    result = run(archive, tmp_path, passwords=["any"])  # libarchive decrypts no RAR

    assert result.code == verdict.ENCRYPTED_ARCHIVE and result.info["decrypted_status"] == "Failed"
    assert contents(result) == [("open.txt", b"open")]


def test_rar_with_encrypted_headers_is_an_encrypted_archive(tmp_path: Path) -> None:
    archive = build_rar(tmp_path / "hp.rar", [("a.txt", b"a", 0, 0o100644)], main_flags=0x80)  # 0x80: -hp

    result = run(archive, tmp_path)

    assert result.code == verdict.ENCRYPTED_ARCHIVE and result.info["is_encrypted_file"] is True
    assert result.files == []


# -- hostile entries ---------------------------------------------------------------------------


def test_zip_entry_names_cannot_escape(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    entries = [
        ("../evil.txt", b"1"),
        ("../../evil2.txt", b"2"),
        (str(tmp_path / "outside" / "abs.txt"), b"3"),
        ("C:\\outside\\win.txt", b"4"),
        ("a/../../x/./y.txt", b"5"),
        ("ctl\x01\x7fname.txt", b"6"),
        ("\\\\server\\share\\unc.txt", b"7"),
    ]
    archive = build_zip(tmp_path / "names.zip", entries)
    before = snapshot(tmp_path, tmp_path / "out")

    result = run(archive, tmp_path)

    assert result.code is None
    assert contents(result) == sorted(
        [
            ("evil.txt", b"1"),
            ("evil2.txt", b"2"),
            (str(tmp_path / "outside" / "abs.txt").lstrip("/"), b"3"),
            ("outside/win.txt", b"4"),
            ("x/y.txt", b"5"),
            ("ctlname.txt", b"6"),
            ("unc.txt", b"7"),
        ]
    )
    assert_confined(tmp_path, before, result)


def test_tar_entry_names_cannot_escape(tmp_path: Path) -> None:
    members = [
        (tar_file("../evil.txt"), b"1"),
        (tar_file(str(tmp_path / "abs.txt")), b"2"),
        (tar_file("./ok"), b"3"),
    ]
    archive = build_tar(tmp_path / "names.tar", members)
    before = snapshot(tmp_path, tmp_path / "out")

    result = run(archive, tmp_path)

    assert result.code is None
    assert contents(result) == sorted(
        [("evil.txt", b"1"), (str(tmp_path / "abs.txt").lstrip("/"), b"2"), ("ok", b"3")]
    )
    assert_confined(tmp_path, before, result)


def test_tar_symlink_then_file_through_it_writes_nothing_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    members = [
        (tar_special("escape", tarfile.SYMTYPE, str(outside)), b""),
        (tar_file("escape/pwned.txt"), b"pwned"),
        (tar_special("passwd", tarfile.SYMTYPE, "/etc/passwd"), b""),
        (tar_special("up", tarfile.SYMTYPE, "../../.."), b""),
    ]
    archive = build_tar(tmp_path / "links.tar.gz", members, "w:gz")
    before = snapshot(tmp_path, tmp_path / "out")

    result = run(archive, tmp_path)

    assert result.code is None
    assert contents(result) == [("escape/pwned.txt", b"pwned")]
    assert sorted(result.skipped) == ["escape", "passwd", "up"]
    assert list(outside.iterdir()) == []
    assert_confined(tmp_path, before, result)


def test_tar_hard_link_to_an_outside_file_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"top secret")
    members = [
        (tar_special("hl", tarfile.LNKTYPE, str(secret)), b""),
        (tar_special("hl2", tarfile.LNKTYPE, "../secret.txt"), b""),
        (tar_file("plain"), b"x"),
    ]
    archive = build_tar(tmp_path / "hard.tar", members)
    before = snapshot(tmp_path, tmp_path / "out")

    result = run(archive, tmp_path)

    assert result.code is None
    assert contents(result) == [("plain", b"x")]
    assert sorted(result.skipped) == ["hl", "hl2"]
    assert_confined(tmp_path, before, result)


def test_cpio_hard_link_is_skipped(tmp_path: Path) -> None:
    records = b""
    for name, data in [("a", b"secret"), ("b", b""), ("TRAILER!!!", b"")]:  # a and b: one inode, two links
        raw = name.encode() + b"\0"
        fields = (1, 5, 0o100644, 0, 0, 2, 0, 0, len(raw), len(data))  # dev ino mode uid gid nlink rdev mtime
        records += b"070707" + b"%06o%06o%06o%06o%06o%06o%06o%011o%06o%011o" % fields + raw + data  # odc cpio
    archive = tmp_path / "hard.cpio"
    archive.write_bytes(records)

    result = run(archive, tmp_path)

    assert result.code is None
    assert contents(result) == [("a", b"secret")] and result.skipped == ["b"]


def test_tar_devices_and_fifos_are_skipped(tmp_path: Path) -> None:
    members = [
        (tar_special("dev/null", tarfile.CHRTYPE), b""),
        (tar_special("dev/sda", tarfile.BLKTYPE), b""),
        (tar_special("fifo", tarfile.FIFOTYPE), b""),
        (tar_special("dir", tarfile.DIRTYPE), b""),
        (tar_file("dir/file"), b"f"),
    ]
    archive = build_tar(tmp_path / "dev.tar", members)
    before = snapshot(tmp_path, tmp_path / "out")

    result = run(archive, tmp_path)

    assert result.code is None
    assert contents(result) == [("dir/file", b"f")]
    assert sorted(result.skipped) == ["dev/null", "dev/sda", "fifo"]
    assert_confined(tmp_path, before, result)


def test_zip_symlink_entry_is_skipped_not_written(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("passwd")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    fifo = zipfile.ZipInfo("fifo")
    fifo.create_system = 3
    fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
    archive = build_zip(
        tmp_path / "link.zip", [(link, b"/etc/passwd"), (fifo, b""), ("passwd/x", b"through")]
    )
    before = snapshot(tmp_path, tmp_path / "out")

    result = run(archive, tmp_path)

    assert result.code is None
    assert contents(result) == [("passwd/x", b"through")]
    assert sorted(result.skipped) == ["fifo", "passwd"]
    assert_confined(tmp_path, before, result)


def test_cpio_symlink_and_traversal_are_confined(tmp_path: Path) -> None:
    archive = tmp_path / "links.cpio"
    with libarchive.file_writer(str(archive), "cpio_newc") as out:
        out.add_file_from_memory("ln", 0, b"", filetype=stat.S_IFLNK, linkpath="/etc/passwd")
        out.add_file_from_memory("../../evil.txt", 4, b"evil")
    before = snapshot(tmp_path, tmp_path / "out")

    result = run(archive, tmp_path)

    assert result.code is None
    assert contents(result) == [("evil.txt", b"evil")] and result.skipped == ["ln"]
    assert_confined(tmp_path, before, result)


def test_7z_symlink_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "real.txt").write_bytes(b"real")
    (tmp_path / "src" / "passwd").symlink_to("/etc/passwd")
    with py7zr.SevenZipFile(tmp_path / "link.7z", "w") as out:
        out.writeall(tmp_path / "src", "src")
    shutil.rmtree(tmp_path / "src")
    before = snapshot(tmp_path, tmp_path / "out")

    result = run(tmp_path / "link.7z", tmp_path)

    assert result.code is None
    assert contents(result) == [("src/real.txt", b"real")] and result.skipped == ["src/passwd"]
    assert_confined(tmp_path, before, result)


def test_rar_symlink_and_traversal_are_confined(tmp_path: Path) -> None:
    entries = [("../evil.txt", b"evil", 0, 0o100644), ("ln", b"/etc/passwd", 0, 0o120777)]
    archive = build_rar(tmp_path / "h.rar", entries)
    before = snapshot(tmp_path, tmp_path / "out")

    result = run(archive, tmp_path)

    assert result.code is None
    assert contents(result) == [("evil.txt", b"evil")] and result.skipped == ["ln"]
    assert_confined(tmp_path, before, result)


def test_duplicate_names_are_both_extracted(tmp_path: Path) -> None:
    zip_archive = build_zip(tmp_path / "dup.zip", [("same.txt", b"first"), ("same.txt", b"second")])
    tar_archive = build_tar(
        tmp_path / "dup.tar", [(tar_file("same.txt"), b"first"), (tar_file("same.txt"), b"second")]
    )
    for archive in (zip_archive, tar_archive):
        before = snapshot(tmp_path, tmp_path / "out")
        result = run(archive, tmp_path)
        assert contents(result) == [("same.txt", b"first"), ("same.txt", b"second")], archive
        assert len({child.path for child in result.files}) == 2
        assert_confined(tmp_path, before, result)
        shutil.rmtree(tmp_path / "out")


def test_existing_files_in_dest_dir_are_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "0").write_bytes(b"earlier")
    archive = build_zip(tmp_path / "a.zip", [("a", b"new")])

    result = run(archive, tmp_path)

    assert (tmp_path / "out" / "0").read_bytes() == b"earlier"
    assert contents(result) == [("a", b"new")] and result.files[0].path.name != "0"


def _truncate(path: Path, keep: float = 0.6) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.mark.parametrize(
    "build",
    [
        lambda tmp: _truncate(build_zip(tmp / "t.zip", [("a", zeros(100_000)), ("b", b"b" * 1000)])),
        lambda tmp: _truncate(
            build_tar(tmp / "t.tar", [(tar_file("a"), b"a" * 10_000), (tar_file("b"), b"b" * 10_000)])
        ),
        lambda tmp: _truncate(
            build_tar(tmp / "t.tar.gz", [(tar_file("a"), bytes(range(256)) * 400)], "w:gz")
        ),
        lambda tmp: _truncate(build_7z(tmp / "t.7z", {"a": bytes(range(256)) * 400})),
        lambda tmp: _truncate(build_rar(tmp / "t.rar", [("a", b"a" * 1000, 0, 0o100644)])),
        lambda tmp: _truncate(build_libarchive(tmp / "t.cpio", "cpio_newc", {"a": b"a" * 10_000})),
        lambda tmp: _truncate(build_arj(tmp / "t.arj", {"a": bytes(range(256)) * 400, "b": b"b" * 1000})),
    ],
    ids=["zip", "tar", "tar.gz", "7z", "rar", "cpio", "arj"],
)
def test_truncated_archive_is_extraction_failed(tmp_path: Path, build: Callable[[Path], Path]) -> None:
    archive = build(tmp_path)
    before = snapshot(tmp_path, tmp_path / "out")

    result = run(archive, tmp_path)

    assert result.code == verdict.EXTRACTION_FAILED, result
    assert result.info["err_category"] == "Extraction Failed" and result.info["err_details"]
    assert_confined(tmp_path, before, result)


@pytest.mark.parametrize(
    ("content", "mime"),
    [
        (b"PK\x03\x04" + b"\xff" * 200, "application/zip"),
        (b"7z\xbc\xaf\x27\x1c" + b"\xff" * 200, "application/x-7z-compressed"),
        (b"\x1f\x8b\x08\x00" + b"\xff" * 200, "application/gzip"),
        (b"garbage" * 100, "application/x-iso9660-image"),
    ],
    ids=["zip", "7z", "gz", "iso"],
)
def test_garbage_with_an_archive_type_is_extraction_failed(tmp_path: Path, content: bytes, mime: str) -> None:
    archive = tmp_path / "junk"
    archive.write_bytes(content)

    result = run(archive, tmp_path, mime=mime)

    assert result.code == verdict.EXTRACTION_FAILED and result.files == []


def test_truncated_plain_gzip_leaves_no_partial_child(tmp_path: Path) -> None:
    archive = tmp_path / "t.gz"
    archive.write_bytes(gzip.compress(bytes(range(256)) * 4000)[:-100])

    result = run(archive, tmp_path)

    assert result.code == verdict.EXTRACTION_FAILED
    assert list((tmp_path / "out").iterdir()) == []


# -- files embedded in Office documents ---------------------------------------------------------


def test_ooxml_embeddings_are_its_children(tmp_path: Path) -> None:
    archive = tmp_path / "report.docx"
    archive.write_bytes(docx_embedding({"payload.bin": b"MZ payload", "oleObject1.bin": ole_package("a.exe", b"MZ")}))

    result = run(archive, tmp_path)

    assert result.code is None
    assert [name for name, _ in contents(result)] == ["word/embeddings/oleObject1.bin", "word/embeddings/payload.bin"]


def test_ole_package_yields_the_packaged_file(tmp_path: Path) -> None:
    archive = tmp_path / "oleObject1.bin"
    archive.write_bytes(ole_package("invoice.exe", b"MZ" + bytes(range(256)) * 40))

    result = run(archive, tmp_path)

    assert result.code is None and contents(result) == [("invoice.exe", b"MZ" + bytes(range(256)) * 40)]


def test_ole_package_over_the_file_size_limit_is_13(tmp_path: Path) -> None:
    archive = tmp_path / "oleObject1.bin"
    archive.write_bytes(ole_package("big.bin", bytes(20_000)))

    result = run(archive, tmp_path, limits=ExtractionLimits(max_file_size=10_000))

    assert result.code == verdict.EXCEEDED_ARCHIVE_SIZE and result.files == []


def test_unreadable_document_is_no_extraction_failure(tmp_path: Path) -> None:
    junk = tmp_path / "broken.docx"
    junk.write_bytes(b"PK\x03\x04" + b"\xff" * 300)

    for mime in ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/msword"):
        result = run(junk, tmp_path, mime=mime)
        assert result.code is None and result.files == []
