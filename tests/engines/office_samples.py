"""Office documents with macros, built at test time.

No installed library writes compound files or VBA projects, so this module writes the few
structures olevba reads: a compound file ([MS-CFB]) and a VBA project ([MS-OVBA]).
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass, field

import msoffcrypto

_SECTOR, _MINI_SECTOR, _MINI_CUTOFF = 512, 64, 4096
_FREE = _NOSTREAM = 0xFFFFFFFF
_END, _FAT_SECTOR = 0xFFFFFFFE, 0xFFFFFFFD
_STORAGE, _STREAM, _ROOT = 1, 2, 5
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
    '<Override PartName="/word/document.xml"'
    ' ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/>'
    "</Types>"
)


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: dict[str, _Entry] = field(default_factory=dict)


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A version 3 compound file holding the streams; '/' in a path makes storages."""
    root = _Entry("Root Entry", _ROOT)
    for path, data in streams.items():
        entry = root
        *storages, name = path.split("/")
        for storage in storages:
            entry = entry.children.setdefault(storage, _Entry(storage, _STORAGE))
        entry.children[name] = _Entry(name, _STREAM, data)
    entries = _flatten(root)
    index = {id(entry): number for number, entry in enumerate(entries)}

    # Layout: header, FAT, directory, mini FAT, mini stream, then each stream of 4096+ bytes.
    small = [e for e in entries if e.kind == _STREAM and len(e.data) < _MINI_CUTOFF]
    big = [e for e in entries if e.kind == _STREAM and len(e.data) >= _MINI_CUTOFF]
    mini_fat: list[int] = []
    start = [_END] * len(entries)  # each entry's first sector (or mini sector)
    for entry in small:
        start[index[id(entry)]] = len(mini_fat)
        mini_fat += _chain(len(mini_fat), -(-len(entry.data) // _MINI_SECTOR))
    mini_stream = b"".join(_pad(e.data, _MINI_SECTOR) for e in small)
    blobs = [
        b"\0" * (_SECTOR * -(-len(entries) // 4)),  # the directory, written below
        _pad(struct.pack(f"<{len(mini_fat)}I", *mini_fat), _SECTOR),
        _pad(mini_stream, _SECTOR),
        *(_pad(e.data, _SECTOR) for e in big),
    ]
    counts = [len(blob) // _SECTOR for blob in blobs]
    fat_count = 1
    while fat_count * (_SECTOR // 4) < fat_count + sum(counts):
        fat_count += 1
    fat, firsts = [_FAT_SECTOR] * fat_count, []
    for count in counts:
        firsts.append(len(fat) if count else _END)
        fat += _chain(len(fat), count)
    for entry, first in zip(big, firsts[3:]):
        start[index[id(entry)]] = first
    start[0] = firsts[2]  # the root entry owns the mini stream

    right, child = [_NOSTREAM] * len(entries), [_NOSTREAM] * len(entries)
    for entry in entries:
        kids = [index[id(kid)] for kid in entry.children.values()]
        if kids:
            child[index[id(entry)]] = kids[0]
        for kid, following in zip(kids, kids[1:]):
            right[kid] = following
    blobs[0] = _pad(b"".join(
        _dir_entry(e, right[n], child[n], start[n], len(mini_stream) if n == 0 else len(e.data))
        for n, e in enumerate(entries)
    ), _SECTOR)

    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\0" * 16, 0x3E, 3, 0xFFFE, 9, 6, b"\0" * 6,
        0, fat_count, firsts[0], 0, _MINI_CUTOFF, firsts[1], counts[1], _END, 0,
    )
    header += struct.pack("<109I", *range(fat_count), *[_FREE] * (109 - fat_count))
    fat += [_FREE] * (fat_count * _SECTOR // 4 - len(fat))
    return header + struct.pack(f"<{len(fat)}I", *fat) + b"".join(blobs)


def _flatten(root: _Entry) -> list[_Entry]:
    """Entries in directory order: each entry before its children."""
    order = [root]
    for child in root.children.values():
        order += _flatten(child)
    return order


def _dir_entry(entry: _Entry, right: int, child: int, start: int, size: int) -> bytes:
    """A 128-byte directory entry; siblings are chained by right links (a valid all-black tree)."""
    name = (entry.name + "\0").encode("utf-16-le")
    return struct.pack(
        "<64sHBBIII16sIQQIQ", name, len(name), entry.kind, 1, _NOSTREAM, right, child,
        b"\0" * 16, 0, 0, 0, start, size,
    )


def _chain(first: int, count: int) -> list[int]:
    return [first + i + 1 for i in range(count - 1)] + [_END] if count else []


def _pad(data: bytes, size: int) -> bytes:
    return bytes(data) + b"\0" * (-len(data) % size)


def ovba_compress(data: bytes) -> bytes:
    """An MS-OVBA compressed container made of literal tokens only (valid, just not smaller)."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), 3640):  # 3640 literals + 455 flag bytes fit one chunk
        chunk = data[start : start + 3640]
        body = b"".join(b"\0" + chunk[i : i + 8] for i in range(0, len(chunk), 8))
        out += struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body
    return bytes(out)


def _record(record_id: int, data: bytes) -> bytes:
    return struct.pack("<HI", record_id, len(data)) + data


def vba_project(modules: dict[str, str], root: str = "") -> dict[str, bytes]:
    """The streams of a VBA project with standard modules named and coded as given."""
    directory = b"".join([
        _record(0x01, struct.pack("<I", 1)),  # SYSKIND: 32-bit Windows
        _record(0x02, struct.pack("<I", 0x409)),
        _record(0x14, struct.pack("<I", 0x409)),
        _record(0x03, struct.pack("<H", 1252)),
        _record(0x04, b"VBAProject"),
        _record(0x05, b""), _record(0x40, b""),
        _record(0x06, b""), _record(0x3D, b""),
        _record(0x07, struct.pack("<I", 0)),
        _record(0x08, struct.pack("<I", 0)),
        struct.pack("<HIIH", 0x09, 4, 1, 0),
        _record(0x0C, b""), _record(0x3C, b""),
        _record(0x0F, struct.pack("<H", len(modules))),
        _record(0x13, struct.pack("<H", 0xFFFF)),
    ])
    streams = {}
    for name in modules:
        encoded = name.encode()
        directory += b"".join([
            _record(0x19, encoded), _record(0x47, name.encode("utf-16-le")),
            _record(0x1A, encoded), _record(0x32, name.encode("utf-16-le")),
            _record(0x1C, b""), _record(0x48, b""),
            _record(0x31, struct.pack("<I", 0)),  # source starts at offset 0 (no p-code cache)
            _record(0x1E, struct.pack("<I", 0)),
            _record(0x2C, struct.pack("<H", 0xFFFF)),
            struct.pack("<HI", 0x21, 0), struct.pack("<HI", 0x2B, 0),
        ])
        source = "\r\n".join([f'Attribute VB_Name = "{name}"', *modules[name].splitlines(), ""])
        streams[f"{root}VBA/{name}"] = ovba_compress(source.encode("cp1252"))
    directory += struct.pack("<HI", 0x10, 0)
    project = 'ID="{00000000-0000-0000-0000-000000000000}"\r\n'
    project += "".join(f"Module={name}\r\n" for name in modules) + 'Name="VBAProject"\r\n'
    streams[f"{root}PROJECT"] = project.encode()
    streams[f"{root}VBA/_VBA_PROJECT"] = b"\xcc\x61\xff\xff\x00\x00\x00"  # version 0xFFFF: no p-code
    streams[f"{root}VBA/dir"] = ovba_compress(directory)
    return streams


def word97(code: str) -> bytes:
    """A Word 97-2003 style compound file with one VBA module (the FIB itself is not needed)."""
    word_document = b"\xec\xa5" + b"\0" * 1022  # FIB magic; olevba does not read further
    return compound_file({"WordDocument": word_document, **vba_project({"Module1": code}, "Macros/")})


def docm(code: str) -> bytes:
    """A macro-enabled Word package whose word/vbaProject.bin holds one VBA module."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("word/document.xml", "<w:document/>")
        package.writestr("word/vbaProject.bin", compound_file(vba_project({"Module1": code})))
    return buffer.getvalue()


def sylk(*formulas: str, auto_open: bool = True) -> bytes:
    """A SYLK macro sheet with the Excel 4 formulas in column A, optionally named Auto_Open."""
    lines = ["ID;P", "O;E"]
    if auto_open:
        lines.append("NN;NAuto_open;ER1C1")
    lines += [f"C;Y{row};X1;K0;E{formula}" for row, formula in enumerate(formulas, 1)]
    return ("\r\n".join(lines + ["E"]) + "\r\n").encode()


def encrypt(package: bytes, password: str) -> bytes:
    """An OOXML package encrypted (ECMA-376 agile) with the password."""
    # msoffcrypto writes packages under 4096 bytes into the mini stream wrongly (it cannot read
    # them back), so small packages get a filler part first.
    buffer = io.BytesIO(package)
    with zipfile.ZipFile(buffer, "a") as zipped:
        zipped.writestr("docProps/filler.bin", b"\0" * 4096)
    out = io.BytesIO()
    msoffcrypto.OfficeFile(io.BytesIO(buffer.getvalue())).encrypt(password, out)
    return out.getvalue()


def ole_package(filename: str, data: bytes) -> bytes:
    """An embedded-object compound file (oleObject1.bin) packaging one file: [MS-OLEDS] OLENativeStream."""
    name = filename.encode()
    body = (
        struct.pack("<H", 2) + name + b"\0" + b"C:\\Users\\x\\" + name + b"\0" + struct.pack("<II", 0x00030000, 0)
        + b"C:\\Temp\\" + name + b"\0" + struct.pack("<I", len(data)) + data
    )
    return compound_file({"\x01Ole10Native": struct.pack("<I", len(body)) + body})


def docx_embedding(embeddings: dict[str, bytes]) -> bytes:
    """A Word package whose word/embeddings/ holds the given parts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", "<Relationships/>")  # libmagic tells OOXML from zip by the parts
        package.writestr("word/document.xml", "<w:document/>")
        for name, data in embeddings.items():
            package.writestr(f"word/embeddings/{name}", data)
    return buffer.getvalue()
