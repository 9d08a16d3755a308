"""Archive extraction: one container file opened into a directory of its own, one level deep.

Every entry goes through `_Sink`, which writes it to a generated name (``dest_dir/<n>``) and counts
its bytes and the time as they arrive, so no entry name, declared size or link in a hostile archive
decides what is written, where, or for how long. Links, devices and FIFOs are never created or
followed: they are skipped and listed. The pipeline recurses by calling `extract` on each child with
depth + 1.

Readers: zip with pyzipper (ZipCrypto and AES), 7z with py7zr (AES), plain gz/bz2/xz/zstd with the
standard library and zstandard, and tar (plain or compressed), rar, cab, iso and cpio with
libarchive. Two measured reasons for libarchive over the obvious library: tarfile reads a pax or GNU
long-name header whole into memory (a 1.3 MB .tar.gz holding a 300 MB pax header made it peak at
900 MB; libarchive refuses the header as "Special header too large"), and rarfile decompresses
through an external tool, of which Debian has none that works (p7zip-full has no RAR codec, and
rarfile rejects unrar-free), while libarchive decompresses RAR 4 and 5 in process. libarchive
decrypts no RAR, so an encrypted RAR is always code 12. ARJ has no reader: libarchive does not
read it.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import ntpath
import re
import shutil
import stat
import subprocess
import tempfile
import threading
import tarfile
import time
from collections.abc import Callable, Iterable, Sequence
from ctypes import c_int
from dataclasses import dataclass, field
from functools import partial
from io import BufferedIOBase
from pathlib import Path, PurePosixPath
from typing import IO, Any

import libarchive
import olefile
import py7zr
import pyzipper
import zstandard
from oletools import oleobj
from py7zr.io import MemIO, Py7zIO, WriterFactory

from scanhive.analysis import verdict

_CHUNK = 64 * 1024
_ZIP_ENCRYPTED = 0x1  # general purpose bit 0: the entry is encrypted (ZipCrypto or AES)
_COMPRESSION_SUFFIXES = frozenset({"gz", "gzip", "z", "bz2", "bz", "xz", "lzma", "zst", "zstd"})


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds for one archive; hitting one ends its extraction with the code noted."""

    max_depth: int = 5  # a container this deep (0 = the uploaded file) is not opened: 9
    max_files: int = 10_000  # files extracted from one archive: 14 beyond
    max_total_size: int = 2 * 1024**3  # bytes decompressed from one archive: 13 beyond
    max_file_size: int = 1 * 1024**3  # bytes of one extracted file: 13 beyond
    timeout: float = 60.0  # seconds for one archive: 16 beyond


@dataclass(frozen=True)
class ExtractedFile:
    """One child: its bytes at `path`, a generated name inside dest_dir."""

    path: Path
    name: str  # the entry's name, sanitised: relative, '/'-separated, shown as "outer.zip/<name>"
    size: int


@dataclass(frozen=True)
class Extraction:
    """The children of one archive, and the result code and details when something stopped it."""

    files: list[ExtractedFile]
    code: int | None  # None, or verdict 9, 12, 13, 14, 16 or 24
    info: dict[str, Any]  # MetaDefender's extraction_info block
    skipped: list[str] = field(default_factory=list)  # links, devices and FIFOs: not extracted


def is_container(mime: str) -> bool:
    """Whether `extract` opens files of this MIME type (as libmagic names it)."""
    return mime in _READERS


def is_document(mime: str) -> bool:
    """Whether the type is an Office document, opened only for the files embedded in it."""
    return mime in _OOXML_TYPES or mime in _OLE_TYPES


def extract(
    path: Path,
    mime: str,
    dest_dir: Path,
    *,
    depth: int,
    limits: ExtractionLimits,
    passwords: Sequence[str] = (),
    name: str = "",
) -> Extraction:
    """Extract one container into dest_dir; `name` (its file name) names a plain .gz/.bz2/.xz/.zst's child."""
    reader = _READERS.get(mime)
    if reader is None:
        raise ValueError(f"not a container type: {mime}")
    sink = _Sink(dest_dir, limits, passwords)
    code, details = None, ""
    if depth >= limits.max_depth:
        code, details = verdict.EXCEEDED_ARCHIVE_DEPTH, f"nested more than {limits.max_depth} levels deep"
    else:
        dest_dir.mkdir(parents=True, exist_ok=True)
        try:
            reader(path, sink, name)
        except _Stop as stop:
            code, details = stop.code, str(stop)
        except Exception as exc:  # each library raises its own exception types on hostile input
            if not is_document(mime):
                code, details = verdict.EXTRACTION_FAILED, f"{type(exc).__name__}: {exc}"
    if code is None and sink.locked:
        tried = (
            f"none of the {len(passwords)} passwords given opens" if passwords else "no password given for"
        )
        code, details = verdict.ENCRYPTED_ARCHIVE, f"{tried} its encrypted entries"
    return Extraction(sink.files, code, sink.info(code, details), sink.skipped)


class _Stop(Exception):
    """A limit was hit: the extraction ends with this result code."""

    def __init__(self, code: int, details: str) -> None:
        super().__init__(details)
        self.code = code


class _Sink:
    """Receives the entries of one archive, writes the files and enforces the limits."""

    def __init__(self, dest_dir: Path, limits: ExtractionLimits, passwords: Sequence[str]) -> None:
        self.dest_dir = dest_dir
        self.limits = limits
        self.passwords = passwords
        self.files: list[ExtractedFile] = []
        self.skipped: list[str] = []
        self.total = 0  # bytes decompressed so far, written or not
        self.encrypted = False
        self.locked = False  # an encrypted entry that no password opened
        self._deadline = time.monotonic() + limits.timeout
        self._next_index = 0

    def remaining(self) -> float:
        """Seconds left of the archive's time."""
        return self._deadline - time.monotonic()

    def check_time(self) -> None:
        """Stop once the archive's time is up."""
        if self.remaining() < 0:
            raise _Stop(verdict.EXCEEDED_ARCHIVE_TIMEOUT, f"took longer than {self.limits.timeout:g} s")

    def count(self, size: int) -> None:
        """Count decompressed bytes against the total before they are used."""
        self.check_time()
        self.total += size
        if self.total > self.limits.max_total_size:
            raise _Stop(verdict.EXCEEDED_ARCHIVE_SIZE, f"more than {self.limits.max_total_size} bytes")

    def begin(self, name: str) -> _Entry:
        """Start writing a child; it counts only once committed."""
        self.check_time()
        if len(self.files) >= self.limits.max_files:
            raise _Stop(verdict.EXCEEDED_ARCHIVE_FILE_NUMBER, f"more than {self.limits.max_files} files")
        while True:
            path = self.dest_dir / str(self._next_index)
            self._next_index += 1
            try:  # exclusive creation neither reuses nor follows anything already in dest_dir
                return _Entry(self, name, path, open(path, "xb"))
            except FileExistsError:
                continue

    def copy(self, name: str, chunks: Iterable[bytes]) -> None:
        """Write a whole child from its chunks, or nothing if they fail."""
        entry = self.begin(name)
        try:
            for chunk in chunks:
                entry.write(chunk)
        except BaseException:
            entry.discard()
            raise
        entry.commit()

    def drain(self, chunks: Iterable[bytes]) -> None:
        """Read data that is not kept, so that a bomb cannot hide in a skipped entry."""
        for chunk in chunks:
            self.count(len(chunk))

    def skip(self, name: str) -> None:
        """Record an entry that is not extracted (link, device, FIFO)."""
        self.check_time()
        self.skipped.append(name)

    def lock(self) -> None:
        """Record an encrypted entry that cannot be decrypted."""
        self.encrypted = self.locked = True

    def unlock(self, attempt: Callable[[str], None]) -> None:
        """Run `attempt` with each password in turn until one works; when none does, mark it locked."""
        self.encrypted = True
        for password in self.passwords:
            kept = len(self.files)
            try:
                attempt(password)
                return
            except _Stop:
                raise
            except Exception:  # a wrong password fails as whatever its garbage breaks: zlib, LZMA, CRC, HMAC
                for child in self.files[kept:]:
                    child.path.unlink()
                del self.files[kept:]
        self.lock()

    def info(self, code: int | None, details: str) -> dict[str, Any]:
        """MetaDefender's extraction_info for this archive."""
        info: dict[str, Any] = {"is_encrypted_file": self.encrypted}
        if self.encrypted:
            info["decrypted_status"] = "Failed" if self.locked else "Success"
        if code is not None:
            info.update(err_category=verdict.name(code), err_code=code, err_details=details)
        return info


class _Entry:
    """A child being written to its generated file; `commit` keeps it, `discard` removes it."""

    def __init__(self, sink: _Sink, name: str, path: Path, file: IO[bytes]) -> None:
        self._sink = sink
        self._file = file
        self.name = name
        self.path = path
        self.size = 0

    def write(self, chunk: bytes) -> None:
        """Append a chunk unless it would break a limit."""
        limit = self._sink.limits.max_file_size
        if self.size + len(chunk) > limit:
            raise _Stop(verdict.EXCEEDED_ARCHIVE_SIZE, f"{self.name} is larger than {limit} bytes")
        self._sink.count(len(chunk))
        self._file.write(chunk)
        self.size += len(chunk)

    def commit(self) -> None:
        """Keep the child."""
        self._file.close()
        self._sink.files.append(ExtractedFile(self.path, self.name, self.size))

    def discard(self) -> None:
        """Remove the partial child."""
        self._file.close()
        self.path.unlink(missing_ok=True)


def _clean_name(raw: str | bytes | None) -> str:
    """An entry name made relative and '/'-separated, without drive, root, '.', '..' or control characters."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw or ""
    text = re.sub(r"[\x00-\x1f\x7f]", "", text.replace("\\", "/"))
    parts: list[str] = []
    for part in ntpath.splitdrive(text)[1].split("/"):
        if part == "..":
            del parts[-1:]
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts) or "unnamed"


def _copy_stream(sink: _Sink, name: str, stream: IO[bytes] | BufferedIOBase) -> None:
    """Copy a child from a readable stream, closing it."""
    with stream:
        sink.copy(name, iter(partial(stream.read, _CHUNK), b""))


def _read_zip(path: Path, sink: _Sink, _name: str) -> None:
    """Zip, including ZipCrypto and AES entries, each tried with every password."""
    with pyzipper.AESZipFile(path) as archive:
        for info in archive.infolist():
            sink.check_time()
            name = _clean_name(info.filename)
            kind = stat.S_IFMT(info.external_attr >> 16)
            if info.is_dir():
                continue
            if info.create_system == 3 and kind not in (0, stat.S_IFREG):  # a unix link, device or FIFO
                sink.skip(name)
            elif info.flag_bits & _ZIP_ENCRYPTED:
                sink.unlock(partial(_copy_zip_entry, sink, archive, info, name))
            else:
                _copy_zip_entry(sink, archive, info, name, None)


def _copy_zip_entry(
    sink: _Sink, archive: pyzipper.AESZipFile, info: pyzipper.ZipInfo, name: str, password: str | None
) -> None:
    """Copy one zip entry, decrypted with `password` when given."""
    _copy_stream(sink, name, archive.open(info, pwd=None if password is None else password.encode()))


def _read_7z(path: Path, sink: _Sink, _name: str) -> None:
    """7z; an encrypted one is tried whole with every password."""
    try:
        with py7zr.SevenZipFile(path) as archive:
            if not archive.needs_password():
                _extract_7z(archive, sink)
                return
    except py7zr.PasswordRequired:  # the headers are encrypted too
        pass

    def attempt(password: str) -> None:
        with py7zr.SevenZipFile(path, password=password) as archive:
            _extract_7z(archive, sink)

    sink.unlock(attempt)


def _extract_7z(archive: py7zr.SevenZipFile, sink: _Sink) -> None:
    """Drive py7zr's worker with our writers, since its extract() names outputs after the entries."""
    writers = _SevenZipWriters(archive, sink)
    try:
        archive.worker.extract(archive.fp, None, parallel=False)
    except BaseException:
        writers.discard()
        raise
    writers.finish()


class _SevenZipWriters(WriterFactory):
    """py7zr asks for one writer per entry; an entry is kept once py7zr moves on past its CRC check."""

    def __init__(self, archive: py7zr.SevenZipFile, sink: _Sink) -> None:
        self._sink = sink
        self._members = {str(member.id): member for member in archive.files}
        self._current: _Entry | None = None
        for key, member in self._members.items():
            archive.worker.register_filelike(member.id, MemIO(key, self))

    def create(self, filename: str) -> Py7zIO:
        """A writer for the entry registered under `filename`."""
        self.finish()
        member = self._members[filename]
        name = _clean_name(member.filename)
        if member.is_file:
            self._current = self._sink.begin(name)
        elif not member.is_directory:
            self._sink.skip(name)
        return _SevenZipOut(self._sink, self._current)

    def finish(self) -> None:
        """Keep the entry written last."""
        if self._current is not None:
            self._current.commit()
            self._current = None

    def discard(self) -> None:
        """Drop the entry being written."""
        if self._current is not None:
            self._current.discard()
            self._current = None


class _SevenZipOut(Py7zIO):
    """The writer py7zr writes one entry into: to the child's file, or drained when it is skipped."""

    def __init__(self, sink: _Sink, entry: _Entry | None) -> None:
        self._sink = sink
        self._entry = entry

    def write(self, s: bytes | bytearray) -> int:
        if self._entry is None:
            self._sink.count(len(s))
        else:
            self._entry.write(bytes(s))
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        pass

    def size(self) -> int:
        return 0 if self._entry is None else self._entry.size


def _read_libarchive(path: Path, sink: _Sink, _name: str) -> None:
    """Tar (plain or gz/bz2/xz/zstd), rar, cab, iso and cpio; libarchive decrypts none of them."""
    with libarchive.file_reader(str(path), block_size=_CHUNK) as archive:
        try:
            for entry in archive:
                sink.check_time()
                name = _clean_name(entry.pathname)
                blocks = entry.get_blocks(_CHUNK)
                if _entry_is_encrypted(entry._entry_p):  # libarchive-c has no property for it
                    sink.lock()
                elif entry.isreg and not entry.islnk:
                    sink.copy(name, blocks)
                else:
                    sink.drain(blocks)
                    if not entry.isdir:
                        sink.skip(name)
        except libarchive.ArchiveError:
            if _has_encrypted_entries(archive._pointer) <= 0:  # -1/-2: unsupported, not known yet
                raise
            sink.lock()  # the headers are encrypted, as in a RAR made with -hp


# libarchive's C API says whether entries are encrypted; libarchive-c does not wrap these two calls.
_entry_is_encrypted = libarchive.ffi.ffi("entry_is_encrypted", [libarchive.ffi.c_archive_entry_p], c_int)
_has_encrypted_entries = libarchive.ffi.ffi("read_has_encrypted_entries", [libarchive.ffi.c_archive_p], c_int)


def _read_arj(path: Path, sink: _Sink, _name: str) -> None:
    """ARJ through the 7z command: every file's bytes in archive order, cut at the listed sizes."""
    seven_zip = shutil.which("7z")
    if seven_zip is None:
        raise RuntimeError("ARJ needs the 7z command (Debian: p7zip-full)")
    files = [entry for entry in _list_7z(seven_zip, path, sink) if entry.get("Folder") != "+"]
    if any(entry.get("Encrypted") == "+" for entry in files):
        sink.lock()
        return
    with tempfile.TemporaryFile() as errors, subprocess.Popen(
        [seven_zip, "x", "-so", "--", str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors
    ) as tool:
        assert tool.stdout is not None
        timer = threading.Timer(max(sink.remaining(), 0), tool.kill)  # a stalled 7z ends at the deadline
        timer.start()
        try:
            for entry in files:
                sink.copy(_clean_name(entry.get("Path")), _exactly(tool.stdout, int(entry.get("Size") or 0)))
            if tool.stdout.read(1):
                raise ValueError("7z extracted more bytes than the archive lists")
            tool.wait()  # its exit code tells whether the CRCs matched
        except (ValueError, OSError):
            sink.check_time()  # killed by the timer: the timeout is the cause
            raise
        finally:
            timer.cancel()
            if tool.poll() is None:
                tool.kill()
        if tool.returncode != 0:
            sink.check_time()
            errors.seek(0)
            raise ValueError(errors.read(1000).decode("utf-8", "replace").strip() or f"7z exited {tool.returncode}")


def _list_7z(seven_zip: str, path: Path, sink: _Sink) -> list[dict[str, str]]:
    """The entries `7z l -slt` lists (Path/Folder/Size/Encrypted), read up to one file past max_files."""
    entries: list[dict[str, str]] = []
    files = 0
    with subprocess.Popen(
        [seven_zip, "l", "-slt", "--", str(path)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, errors="replace",
    ) as tool:
        assert tool.stdout is not None
        in_entries = False
        for line in tool.stdout:
            sink.check_time()
            key, _, value = line.rstrip("\n").partition(" = ")
            if line.startswith("----------"):
                in_entries = True
            elif in_entries and key == "Path":
                if files > sink.limits.max_files:  # enough for copying to hit the limit (code 14)
                    tool.kill()
                    return entries
                entries.append({"Path": value})
            elif entries and key in ("Folder", "Size", "Encrypted"):
                entries[-1][key] = value
                files += key == "Folder" and value != "+"
    if tool.returncode != 0:
        raise ValueError(f"7z cannot list it (exit {tool.returncode})")
    return entries


def _exactly(stream: IO[bytes], size: int) -> Iterable[bytes]:
    """`size` bytes of `stream` in chunks; a stream that ends sooner is a broken archive."""
    while size > 0:
        chunk = stream.read(min(size, _CHUNK))
        if not chunk:
            raise ValueError("the archive ends before its listed size")
        size -= len(chunk)
        yield chunk


def _read_ooxml_embeddings(path: Path, sink: _Sink, _name: str) -> None:
    """The parts an Office Open XML package embeds (word/embeddings/..., xl/embeddings/...)."""
    with pyzipper.AESZipFile(path) as package:
        for info in package.infolist():
            sink.check_time()
            if not info.is_dir() and "embeddings" in PurePosixPath(info.filename).parts[:-1]:
                _copy_zip_entry(sink, package, info, _clean_name(info.filename), None)


def _read_ole_objects(path: Path, sink: _Sink, _name: str) -> None:
    """The files packaged into an OLE document: each \\x01Ole10Native stream's payload."""
    with olefile.OleFileIO(str(path)) as ole:
        for stream in ole.listdir(streams=True, storages=False):
            sink.check_time()
            if stream[-1] != "\x01Ole10Native":
                continue
            limit = sink.limits.max_file_size
            if ole.get_size(stream) > limit:  # olefile reads a stream whole: check before reading
                raise _Stop(verdict.EXCEEDED_ARCHIVE_SIZE, f"{'/'.join(stream)} is larger than {limit} bytes")
            native = oleobj.OleNativeStream(ole.openstream(stream).read())
            if not native.is_link and native.data:
                name = _clean_name(native.filename or "/".join(stream[:-1]) or "Ole10Native")
                sink.copy(name, [native.data[i : i + _CHUNK] for i in range(0, len(native.data), _CHUNK)])


def _open_zstd(path: Path) -> IO[bytes]:
    """A zstd file as a decompressed stream (all frames)."""
    return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), read_across_frames=True)


_DECOMPRESSORS: dict[str, Callable[[Path], IO[bytes] | BufferedIOBase]] = {
    "gzip": gzip.GzipFile,
    "bzip2": bz2.BZ2File,
    "xz": lzma.LZMAFile,
    "zstd": _open_zstd,
}


def _read_compressed(kind: str, path: Path, sink: _Sink, name: str) -> None:
    """A gz/bz2/xz/zstd file: a tar inside goes to libarchive, anything else is its single child."""
    with _DECOMPRESSORS[kind](path) as stream:
        head = stream.read(tarfile.BLOCKSIZE)
    try:
        tarfile.TarInfo.frombuf(head, "utf-8", "surrogateescape")  # validates a tar header's checksum
    except tarfile.HeaderError:
        _copy_stream(sink, _inner_name(name), _DECOMPRESSORS[kind](path))
    else:
        _read_libarchive(path, sink, name)


def _inner_name(name: str) -> str:
    """The child of a plain compressed file: its name less the suffix ("a.txt.gz" -> "a.txt")."""
    base = PurePosixPath(_clean_name(name)).name
    stem, dot, suffix = base.rpartition(".")
    return stem if dot and stem and suffix.lower() in _COMPRESSION_SUFFIXES else base


_OOXML_TYPES = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.ms-word.document.macroEnabled.12",
    "application/vnd.ms-excel.sheet.macroEnabled.12",
    "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
})
_OLE_TYPES = frozenset({
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/x-ole-storage", "application/CDFV2",
})

_READERS: dict[str, Callable[[Path, _Sink, str], None]] = {
    **dict.fromkeys(_OOXML_TYPES, _read_ooxml_embeddings),
    **dict.fromkeys(_OLE_TYPES, _read_ole_objects),
    "application/zip": _read_zip,
    "application/x-zip-compressed": _read_zip,
    "application/x-7z-compressed": _read_7z,
    "application/x-rar": _read_libarchive,
    "application/vnd.rar": _read_libarchive,
    "application/x-rar-compressed": _read_libarchive,
    "application/x-tar": _read_libarchive,
    "application/x-gtar": _read_libarchive,
    "application/vnd.ms-cab-compressed": _read_libarchive,
    "application/x-iso9660-image": _read_libarchive,
    "application/x-cpio": _read_libarchive,
    "application/x-arj": _read_arj,
    "application/gzip": partial(_read_compressed, "gzip"),
    "application/x-gzip": partial(_read_compressed, "gzip"),
    "application/x-bzip2": partial(_read_compressed, "bzip2"),
    "application/x-xz": partial(_read_compressed, "xz"),
    "application/zstd": partial(_read_compressed, "zstd"),
    "application/x-zstd": partial(_read_compressed, "zstd"),
}
