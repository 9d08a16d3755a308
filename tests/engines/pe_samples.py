"""Minimal PE32 images written with struct at test time, and a PKCS#7 blob to sign them with."""

from __future__ import annotations

import datetime
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

_FILE_ALIGN, _SECTION_ALIGN = 0x200, 0x1000
_HEADERS_SIZE = 0x400
_CODE, _DATA = 0x60000020, 0xC0000040  # section characteristics: code|exec|read, data|read|write


def _align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def build_pe(
    sections: list[tuple[str, bytes]],
    imports: dict[str, list[str]] | None = None,
    overlay: bytes = b"",
    checksum: int = 0,
    signature: bytes | None = None,
) -> bytes:
    """A PE32 executable with the named sections, an import table, an overlay and a signature."""
    layout = list(sections)
    import_index = None
    if imports:
        import_index = len(layout)
        layout.append((".idata", b""))  # filled once its RVA is known
    rvas = [_SECTION_ALIGN * (i + 1) for i in range(len(layout))]
    directories = [(0, 0)] * 16
    if import_index is not None:
        table = _import_table(imports or {}, rvas[import_index])
        layout[import_index] = (".idata", table)
        directories[1] = (rvas[import_index], 20 * (len(imports or {}) + 1))

    raw, headers = b"", b""
    pointer = _HEADERS_SIZE
    for (name, data), rva in zip(layout, rvas):
        size = _align(len(data), _FILE_ALIGN)
        characteristics = _CODE if rva == rvas[0] else _DATA
        headers += struct.pack(
            "<8sIIIIIIHHI", name.encode(), max(len(data), 1), rva, size, pointer, 0, 0, 0, 0, characteristics
        )
        raw += data.ljust(size, b"\0")
        pointer += size
    image_size = rvas[-1] + _align(max(len(layout[-1][1]), 1), _SECTION_ALIGN)

    tail = overlay
    if signature is not None:
        tail = tail.ljust(_align(len(tail), 8), b"\0")
        certificate = struct.pack("<IHH", 8 + len(signature), 0x0200, 0x0002) + signature
        directories[4] = (pointer + len(tail), len(certificate))  # a file offset, not an RVA
        tail += certificate

    optional = struct.pack(
        "<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII",
        0x10B, 14, 0, len(layout[0][1]), 0, 0, rvas[0], rvas[0], rvas[0], 0x400000,
        _SECTION_ALIGN, _FILE_ALIGN, 6, 0, 0, 0, 6, 0, 0, image_size, _HEADERS_SIZE, checksum,
        3, 0x8140, 0x100000, 0x1000, 0x100000, 0x1000, 0, 16,
    ) + b"".join(struct.pack("<II", *entry) for entry in directories)
    coff = struct.pack("<HHIIIHH", 0x14C, len(layout), 0x5F000000, 0, 0, len(optional), 0x0102)
    dos = b"MZ" + b"\0" * 58 + struct.pack("<I", 0x40)
    head = dos + b"PE\0\0" + coff + optional + headers
    return head.ljust(_HEADERS_SIZE, b"\0") + raw + tail


def _import_table(imports: dict[str, list[str]], base: int) -> bytes:
    """Import descriptors, then lookup tables, then hint/name entries and DLL names."""
    descriptors_size = 20 * (len(imports) + 1)
    thunks_size = sum(4 * (len(names) + 1) for names in imports.values())
    strings, string_rvas = b"", {}
    for dll, names in imports.items():
        for name in names:
            string_rvas[(dll, name)] = base + descriptors_size + thunks_size + len(strings)
            strings += struct.pack("<H", 0) + name.encode() + b"\0"
            strings += b"\0" * (len(strings) % 2)
        string_rvas[(dll, None)] = base + descriptors_size + thunks_size + len(strings)
        strings += dll.encode() + b"\0"
    descriptors, thunks = b"", b""
    for dll, names in imports.items():
        thunk_rva = base + descriptors_size + len(thunks)
        thunks += b"".join(struct.pack("<I", string_rvas[(dll, n)]) for n in names) + b"\0" * 4
        # the lookup table doubles as the address table, as in an unbound image
        descriptors += struct.pack("<IIIII", thunk_rva, 0, 0, string_rvas[(dll, None)], thunk_rva)
    return descriptors + b"\0" * 20 + thunks + strings


def signed_data(
    common_name: str = "Example Software Ltd", serial: int = 0x0123456789ABCDEF, rsa_key: bool = False
) -> bytes:
    """A DER PKCS#7 SignedData signed (SHA-256) by a fresh certificate with an EC or RSA key."""
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if rsa_key:
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, common_name),
    ])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Code Signing CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
        .serial_number(serial).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return (
        pkcs7.PKCS7SignatureBuilder().set_data(b"image digest")
        .add_signer(certificate, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
