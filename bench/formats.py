"""Minimal but valid files of common formats, built from a seeded RNG to about a target size."""

from __future__ import annotations

import io
import json
import random
import struct
import zipfile
import zlib

_WORDS = (
    "invoice report quarterly revenue customer account payment shipment order delivery status "
    "network server firewall policy update release version build module package config user "
    "admin password reset login session token access denied granted review approve reject "
    "meeting agenda minutes action item owner deadline budget forecast margin growth risk"
).split()
_ZIP_DATE = (2024, 1, 1, 0, 0, 0)


def words(rng: random.Random, size: int) -> str:
    """Line-broken prose of about `size` characters."""
    out: list[str] = []
    length = 0
    while length < size:
        line = " ".join(rng.choices(_WORDS, k=rng.randint(6, 14))).capitalize() + ".\n"
        out.append(line)
        length += len(line)
    return "".join(out)[:size]


def text(rng: random.Random, size: int) -> bytes:
    return words(rng, size).encode()


def json_doc(rng: random.Random, size: int) -> bytes:
    records: list[dict[str, object]] = []
    length = 2
    while length < size:
        record = {
            "id": rng.randrange(10**9),
            "name": " ".join(rng.choices(_WORDS, k=3)),
            "amount": round(rng.uniform(0, 10_000), 2),
            "tags": rng.sample(_WORDS, 3),
            "active": rng.random() < 0.5,
        }
        records.append(record)
        length += len(json.dumps(record)) + 2
    return json.dumps(records, indent=1).encode()


def csv_doc(rng: random.Random, size: int) -> bytes:
    lines = ["id,date,customer,product,quantity,price"]
    length = len(lines[0])
    while length < size:
        day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        customer, product = rng.choice(_WORDS), rng.choice(_WORDS)
        line = f"{rng.randrange(10**6)},{day},{customer},{product},{rng.randint(1, 99)},{rng.uniform(1, 500):.2f}"
        lines.append(line)
        length += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


_OPCODES = bytes.fromhex("558bec83c48945fce800ff15505152535657" "5dc333c07475eb6a688d4d0f8485b8010204081020cc90")


def _code(rng: random.Random, size: int) -> bytes:
    """Code-like bytes (common x86 opcodes, entropy near 5): slices of one seeded block."""
    block = bytes(rng.choices(_OPCODES, k=64 * 1024))
    parts, length = [], 0
    while length < size:
        start = rng.randrange(len(block) - 4096)
        parts.append(block[start : start + rng.randint(256, 4096)])
        length += len(parts[-1])
    return b"".join(parts)[:size]


def pe32(rng: random.Random, size: int) -> bytes:
    """A PE32 console executable for i386 with code-like .text and strings-and-zeros .data."""
    file_align, section_align, headers_size = 0x200, 0x1000, 0x200
    body = max(2 * file_align, size - headers_size)
    code = (b"\x31\xc0\xc3" + _code(rng, body // 2)).ljust(_align(body // 2, file_align), b"\xcc")
    strings = text(rng, body // 4)
    data = (strings + bytes(body // 4)).ljust(_align(body - len(code), file_align), b"\0")
    text_rva = section_align
    data_rva = text_rva + _align(len(code), section_align)
    image_size = data_rva + _align(len(data), section_align)
    dos = b"MZ" + b"\0" * 58 + struct.pack("<I", 0x40)
    coff = struct.pack("<4sHHIIIHH", b"PE\0\0", 0x14C, 2, 0x65A0_0000, 0, 0, 224, 0x0102)
    optional = struct.pack(
        "<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII",
        0x10B, 14, 0, len(code), len(data), 0, text_rva, text_rva, data_rva, 0x400000,
        section_align, file_align, 6, 0, 0, 0, 6, 0, 0, image_size, headers_size, 0, 3, 0x8140,
        0x100000, 0x1000, 0x100000, 0x1000, 0, 16,
    ) + b"\0" * (16 * 8)
    sections = struct.pack(
        "<8sIIIIIIHHI", b".text", len(code), text_rva, len(code), headers_size, 0, 0, 0, 0, 0x60000020
    ) + struct.pack(
        "<8sIIIIIIHHI", b".data", len(data), data_rva, len(data), headers_size + len(code), 0, 0, 0, 0, 0xC0000040
    )
    headers = (dos + coff + optional + sections).ljust(headers_size, b"\0")
    return headers + code + data


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(rng: random.Random, size: int) -> bytes:
    """An RGB PNG of noisy pixels (incompressible, so the file is about `size` bytes)."""
    width = 256 if size >= 64 * 1024 else 64
    height = max(1, round(size / (width * 3)))
    rows = b"".join(b"\0" + rng.randbytes(width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows, 6))
        + _png_chunk(b"IEND", b"")
    )


def pdf(rng: random.Random, size: int) -> bytes:
    """A one-page PDF 1.4 whose uncompressed content stream writes lines of text."""
    lines = words(rng, max(200, size - 700)).splitlines()
    ops = ["BT", "/F1 9 Tf", "11 TL", "40 800 Td"]
    ops += [f"({line}) Tj T*" for line in lines]  # the words hold no parentheses to escape
    stream = ("\n".join(ops + ["ET"]) + "\n").encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _zip(members: list[tuple[str, bytes, int]]) -> bytes:
    """A zip with fixed timestamps (so the bytes depend only on the members)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body, method in members:
            info = zipfile.ZipInfo(name, _ZIP_DATE)
            info.compress_type = method
            archive.writestr(info, body)
    return out.getvalue()


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="png" ContentType="image/png"/>'
    '<Override PartName="/{part}" ContentType="{type}"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="{part}"/></Relationships>'
)


def docx(rng: random.Random, size: int) -> bytes:
    """A Word 2007+ document: paragraphs of prose plus an embedded noisy image for bulk."""
    paragraphs = "".join(
        f"<w:p><w:r><w:t>{line}</w:t></w:r></w:p>" for line in words(rng, min(size, 64 * 1024)).splitlines()
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{paragraphs}</w:body></w:document>"
    )
    part = "word/document.xml"
    kind = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    members = [
        ("[Content_Types].xml", _CONTENT_TYPES.format(part=part, type=kind).encode(), zipfile.ZIP_DEFLATED),
        ("_rels/.rels", _RELS.format(part=part).encode(), zipfile.ZIP_DEFLATED),
        (part, document.encode(), zipfile.ZIP_DEFLATED),
    ]
    if size > 16 * 1024:
        members.append(("word/media/image1.png", png(rng, size - 16 * 1024), zipfile.ZIP_STORED))
    return _zip(members)


def xlsx(rng: random.Random, size: int) -> bytes:
    """An Excel 2007+ workbook with one sheet of numbers and inline strings."""
    rows: list[str] = []
    length = 0
    row = 0
    while length < size * 3:  # deflate shrinks sheet XML about threefold
        row += 1
        cells = f'<c r="A{row}" t="inlineStr"><is><t>{rng.choice(_WORDS)}</t></is></c>'
        cells += "".join(f'<c r="{col}{row}"><v>{rng.uniform(0, 1e6):.4f}</v></c>' for col in "BCDEF")
        rows.append(f'<row r="{row}">{cells}</row>')
        length += len(rows[-1])
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{''.join(rows)}</sheetData></worksheet>"
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    workbook_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>'
    )
    part = "xl/workbook.xml"
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    deflated = zipfile.ZIP_DEFLATED
    return _zip([
        ("[Content_Types].xml", _CONTENT_TYPES.format(part=part, type=kind).encode(), deflated),
        ("_rels/.rels", _RELS.format(part=part).encode(), deflated),
        (part, workbook.encode(), deflated),
        ("xl/_rels/workbook.xml.rels", workbook_rels.encode(), deflated),
        ("xl/worksheets/sheet1.xml", sheet.encode(), deflated),
    ])


def zip_archive(rng: random.Random, size: int) -> bytes:
    """A zip of a few text, CSV and binary members."""
    share = max(256, size // 4)
    return _zip([
        ("readme.txt", text(rng, share), zipfile.ZIP_DEFLATED),
        ("data/export.csv", csv_doc(rng, share), zipfile.ZIP_DEFLATED),
        ("data/blob.bin", rng.randbytes(share * 2), zipfile.ZIP_STORED),
    ])


#: kind -> (file extension, builder, weight in the mix)
BUILDERS = {
    "text": ("txt", text, 15),
    "json": ("json", json_doc, 8),
    "csv": ("csv", csv_doc, 8),
    "pe": ("exe", pe32, 15),
    "docx": ("docx", docx, 10),
    "xlsx": ("xlsx", xlsx, 6),
    "pdf": ("pdf", pdf, 15),
    "png": ("png", png, 13),
    "zip": ("zip", zip_archive, 10),
}
