"""Windows PE files: packers, packed-looking sections, injection imports, overlays, checksums, signers."""

from __future__ import annotations

import math
import mmap
import struct
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy
import pefile
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from scanhive.analysis import verdict
from scanhive.engines.base import Engine, EngineResult, EngineStatus, ScanContext

_DEF_TIME = datetime.fromtimestamp(Path(pefile.__file__).stat().st_mtime, tz=timezone.utc)
_IMPORT_DIRECTORIES = [
    pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"],
    pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT"],
]
_SECURITY = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_SECURITY"]
_WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002
_ENTROPY_BLOCK = 256 * 1024


class PeEngine(Engine):
    eng_id = "pe_1_linux"
    eng_name = "PE Analyzer"
    engine_type = "av"

    #: Section names that packers and protectors leave behind.
    PACKER_SECTIONS = {
        "UPX0": "UPX", "UPX1": "UPX", "UPX2": "UPX", ".aspack": "ASPack", ".adata": "ASPack",
        ".petite": "Petite", ".MPRESS1": "MPRESS", ".MPRESS2": "MPRESS", ".nsp0": "NsPack",
        ".nsp1": "NsPack", ".nsp2": "NsPack", "FSG!": "FSG", ".themida": "Themida",
        ".winlice": "WinLicense", ".vmp0": "VMProtect", ".vmp1": "VMProtect", ".vmp2": "VMProtect",
        ".enigma1": "Enigma", ".enigma2": "Enigma", "PEC2": "PECompact", "PECompact2": "PECompact",
        "MEW": "MEW", ".RLPack": "RLPack", "kkrunchy": "kkrunchy", ".yP": "Y0da Protector",
    }
    #: Compressed or encrypted data is above this (8.0 is the maximum); code stays near 6.
    ENTROPY_THRESHOLD = 7.2
    #: Import combinations with one typical use, each a list of "one of these names" groups.
    IMPORT_PATTERNS: dict[str, list[frozenset[str]]] = {
        "process injection": [
            frozenset({"VirtualAllocEx"}), frozenset({"WriteProcessMemory"}),
            frozenset({
                "CreateRemoteThread", "CreateRemoteThreadEx", "NtCreateThreadEx", "RtlCreateUserThread",
            }),
        ],
        "process hollowing": [
            frozenset({"NtUnmapViewOfSection", "ZwUnmapViewOfSection"}), frozenset({"WriteProcessMemory"}),
            frozenset({"SetThreadContext", "Wow64SetThreadContext"}),
        ],
        "APC injection": [
            frozenset({"QueueUserAPC", "NtQueueApcThread"}), frozenset({"VirtualAllocEx"}),
            frozenset({"WriteProcessMemory"}),
        ],
    }

    def status(self) -> EngineStatus:
        return EngineStatus(pefile.__version__, _DEF_TIME)

    def accepts(self, file_type: str, head: bytes) -> bool:
        """MZ files whose e_lfanew points at "PE\\0\\0", or past the head (scan() looks there)."""
        offset = _pe_header_offset(head)
        return offset is not None and (offset + 4 > len(head) or head[offset : offset + 4] == b"PE\0\0")

    def scan(self, path: Path, context: ScanContext) -> EngineResult:
        if not _has_pe_signature(path):
            return EngineResult.clean()
        # The engine maps the file itself because pefile's own close() runs a full gc.collect(),
        # which costs a long-running worker far more than the scan.
        with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            pe = pefile.PE(data=data, fast_load=True)  # PEFormatError: a PE too broken to read
            pe.parse_data_directories(directories=_IMPORT_DIRECTORIES)
            return self._analyze(pe)

    def _analyze(self, pe: pefile.PE) -> EngineResult:
        sections = [
            {
                "name": s.Name.rstrip(b"\0").decode("latin-1"),
                "entropy": round(section_entropy(s.get_data()), 2),
                "raw_size": s.SizeOfRawData,
                "virtual_size": s.Misc_VirtualSize,
            }
            for s in pe.sections
        ]
        details: dict[str, Any] = {
            "machine": pefile.MACHINE_TYPE.get(pe.FILE_HEADER.Machine, "unknown"),
            "sections": sections,
        }
        reasons = self._packing(pe, sections, details) + self._imports(pe, details) + _layout(pe, details)
        if not reasons:
            return EngineResult(verdict.NO_THREAT, details=details)
        return EngineResult(verdict.SUSPICIOUS, ", ".join(reasons), {"reasons": reasons, **details})

    def _packing(self, pe: pefile.PE, sections: list[dict[str, Any]], details: dict[str, Any]) -> list[str]:
        """Packer section names, UPX's header magic and sections of compressed-looking data."""
        names = [s["name"] for s in sections]
        packers = list(dict.fromkeys(self.PACKER_SECTIONS[n] for n in names if n in self.PACKER_SECTIONS))
        # UPX writes its "UPX!" magic after the section table; it stays when sections are renamed
        if "UPX" not in packers and b"UPX!" in pe.__data__[: min(pe.OPTIONAL_HEADER.SizeOfHeaders, 4096)]:
            packers.append("UPX")
        if packers:
            details["packers"] = packers
        reasons = [f"packed with {packer}" for packer in packers]
        if any(s["entropy"] > self.ENTROPY_THRESHOLD for s in sections):
            reasons.append("high-entropy section")
        return reasons

    def _imports(self, pe: pefile.PE, details: dict[str, Any]) -> list[str]:
        """Import combinations from IMPORT_PATTERNS."""
        entries = getattr(pe, "DIRECTORY_ENTRY_IMPORT", []) + getattr(pe, "DIRECTORY_ENTRY_DELAY_IMPORT", [])
        imported = {i.name.decode("latin-1") for entry in entries for i in entry.imports if i.name}
        matched = {
            name: sorted(imported & set().union(*groups))
            for name, groups in self.IMPORT_PATTERNS.items()
            if all(imported & group for group in groups)
        }
        if matched:
            details["suspicious_imports"] = matched
        return [f"{name} imports" for name in matched]


def _layout(pe: pefile.PE, details: dict[str, Any]) -> list[str]:
    """Overlay, checksum and Authenticode signers: what lies around the sections."""
    data, reasons = pe.__data__, []
    directories = pe.OPTIONAL_HEADER.DATA_DIRECTORY
    # the security directory holds a file offset, not an RVA; a truncated header may lack it
    cert_offset, cert_size = (
        (directories[_SECURITY].VirtualAddress, directories[_SECURITY].Size)
        if len(directories) > _SECURITY else (0, 0)
    )
    section_ends = (s.PointerToRawData + s.SizeOfRawData for s in pe.sections)
    image_end = max([pe.OPTIONAL_HEADER.SizeOfHeaders, *section_ends])
    if image_end > len(data):
        details["truncated"] = True  # what follows the headers is not an overlay then
    elif overlay := _overlay_size(pe, len(data), cert_offset, cert_size):
        reasons.append("overlay")
        details["overlay_size"] = overlay
    stored = pe.OPTIONAL_HEADER.CheckSum
    if stored:  # zero means no checksum was set, which most linkers do; only a wrong one tells
        computed = pe_checksum(data, pe.OPTIONAL_HEADER.get_file_offset() + 0x40)
        if stored != computed:
            reasons.append("bad checksum")
            details["checksum"] = {"stored": stored, "computed": computed}
    if cert_size:
        details.update(_signatures(data, cert_offset, cert_size))
    return reasons


def _pe_header_offset(head: bytes) -> int | None:
    """e_lfanew of an MZ header (None when the file does not start with a whole one)."""
    if len(head) < 64 or not head.startswith(b"MZ"):
        return None
    return int(struct.unpack_from("<I", head, 0x3C)[0])


def section_entropy(data: bytes) -> float:
    """Shannon entropy in bits per byte, as pefile's get_entropy computes it, at C speed."""
    # get_entropy counts the bytes with a Counter, 35 ms per MiB; bincount takes under 2. It
    # widens its input to 8-byte integers, so it gets a block at a time: 2 MiB of memory at most
    # whatever the section's size (and faster, the block staying in cache). The terms are added
    # in byte order instead of first-seen order, which moves only the last bits.
    if not data:
        return 0.0
    array = numpy.frombuffer(data, dtype=numpy.uint8)
    counts = numpy.zeros(256, dtype=numpy.int64)
    for start in range(0, len(array), _ENTROPY_BLOCK):
        counts += numpy.bincount(array[start : start + _ENTROPY_BLOCK], minlength=256)
    entropy = 0.0
    for count in counts[counts > 0].tolist():
        share = float(count) / len(data)
        entropy -= share * math.log(share, 2)
    return entropy


def _has_pe_signature(path: Path) -> bool:
    """Whether the file is MZ with a PE header where e_lfanew points (DOS, NE and LE files are not)."""
    with path.open("rb") as handle:
        offset = _pe_header_offset(handle.read(64))
        if offset is None:
            return False
        handle.seek(offset)
        return handle.read(4) == b"PE\0\0"


def _overlay_size(pe: pefile.PE, file_size: int, cert_offset: int, cert_size: int) -> int:
    """Bytes after the image that are not the Authenticode certificate table."""
    start = pe.get_overlay_data_start_offset()
    if start is None:
        return 0
    size = file_size - start
    if cert_size and start <= cert_offset < file_size:
        size -= min(cert_size, file_size - cert_offset)
    return max(size, 0)


def pe_checksum(data: Any, checksum_offset: int) -> int:
    """The PE image checksum, as pefile's generate_checksum computes it, at C speed."""
    # generate_checksum copies the file and adds dwords in a Python loop (~10 s per 100 MB). The
    # end-around-carry sum it folds equals the plain sum folded afterwards, and summing a
    # memoryview runs in C. PE files are little-endian, as is every platform ScanHive runs on.
    size = len(data)
    aligned = size - size % 4
    with memoryview(data) as view, view[:aligned].cast("I") as dwords:
        total = sum(dwords)
    total += int.from_bytes(bytes(data[aligned:size]).ljust(4, b"\0"), "little") if aligned < size else 0
    total -= int.from_bytes(bytes(data[checksum_offset : checksum_offset + 4]), "little")
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    total = (total & 0xFFFF) + (total >> 16)
    total = (total + (total >> 16)) & 0xFFFF
    return total + size


def _signatures(data: Any, offset: int, size: int) -> dict[str, Any]:
    """details["signer_infos"] from the WIN_CERTIFICATE entries, or why they could not be read."""
    if offset + size > len(data) or size < 8:
        return {"signature_error": "certificate table lies outside the file"}
    infos: list[dict[str, str]] = []
    position, end = offset, offset + size
    try:
        while position + 8 <= end:
            length, _revision, cert_type = struct.unpack_from("<IHH", data, position)
            if length < 8:
                break
            if cert_type == _WIN_CERT_TYPE_PKCS_SIGNED_DATA:
                infos += _signer_infos(bytes(data[position + 8 : min(position + length, end)]))
            position += (length + 7) // 8 * 8
    except (ValueError, IndexError) as exc:  # a malformed signature is reported, not fatal
        return {"signer_infos": infos, "signature_error": str(exc) or "malformed PKCS#7 data"}
    return {"signer_infos": infos}


def _signer_infos(signed_data: bytes) -> list[dict[str, str]]:
    """MetaDefender's signer_infos for a DER PKCS#7 SignedData: one entry per SignerInfo."""
    certificates = {c.serial_number: c for c in pkcs7.load_der_pkcs7_certificates(signed_data)}
    infos = []
    for serial, digest, encryption in _signer_fields(signed_data):
        certificate = certificates.get(serial)
        infos.append({
            "digest_algorithm": digest,
            "digest_encryption_algorithm": encryption,
            "issuer": _display_name(certificate.issuer) if certificate else "",
            "serial_number": _hex_bytes(serial),
            "vendor_name": _display_name(certificate.subject) if certificate else "",
            "version": str(certificate.version.value) if certificate else "",
        })
    return infos


def _hex_bytes(number: int) -> str:
    """Lower-case hex with whole bytes, as certificate viewers show serial numbers."""
    digits = f"{number:x}"
    return digits.zfill(len(digits) + len(digits) % 2)


def _display_name(name: x509.Name) -> str:
    """The common name, else the organization, else the whole distinguished name."""
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        attributes = name.get_attributes_for_oid(oid)
        if attributes:
            return str(attributes[0].value)
    return name.rfc4514_string()


# cryptography reads the certificates of a PKCS#7 blob but not its SignerInfos, so the few
# fields needed from those are read here with a minimal DER walker.
_ALGORITHMS = {
    "1.2.840.113549.2.5": "md5",
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "1.2.840.113549.1.1.1": "rsaEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.10040.4.1": "dsa",
    "1.2.840.10045.2.1": "ecPublicKey",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
}
_SEQUENCE, _SET, _OID, _CONTEXT_0 = 0x30, 0x31, 0x06, 0xA0


def _signer_fields(der: bytes) -> list[tuple[int, str, str]]:
    """(serial number, digest algorithm, digest encryption algorithm) of each SignerInfo."""
    content_info = _children(der, *_element(der, 0)[1:])
    signed_data = _children(der, *_children(der, *content_info[1][1:])[0][1:])
    tag, start, end = signed_data[-1]
    if tag != _SET:
        raise ValueError("PKCS#7 SignedData without signerInfos")
    fields = []
    for _, info_start, info_end in _children(der, start, end):
        _version, signer_id, digest, *rest = _children(der, info_start, info_end)
        if signer_id[0] != _SEQUENCE:  # a version 3 SignerInfo names its certificate by key id
            continue
        serial = _children(der, *signer_id[1:])[1]
        encryption = rest[1] if rest[0][0] == _CONTEXT_0 else rest[0]
        fields.append((
            int.from_bytes(der[serial[1] : serial[2]], "big", signed=True),
            _algorithm(der, digest),
            _algorithm(der, encryption),
        ))
    return fields


def _algorithm(der: bytes, identifier: tuple[int, int, int]) -> str:
    """The name of an AlgorithmIdentifier's OID (the dotted OID when it has no common name)."""
    tag, start, end = _children(der, *identifier[1:])[0]
    if tag != _OID:
        raise ValueError("malformed AlgorithmIdentifier")
    arcs, value = [], 0
    for byte in der[start:end]:
        value = value << 7 | byte & 0x7F
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    dotted = ".".join(map(str, [first, arcs[0] - 40 * first, *arcs[1:]]))
    return _ALGORITHMS.get(dotted, dotted)


def _element(der: bytes, position: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at position."""
    if position + 2 > len(der):
        raise ValueError("truncated DER element")
    tag, length = der[position], der[position + 1]
    position += 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(der[position : position + count], "big")
        position += count
    if position + length > len(der):
        raise ValueError("truncated DER element")
    return tag, position, position + length


def _children(der: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """The elements inside a constructed element's content."""
    elements = []
    while start < end:
        elements.append(_element(der, start))
        start = elements[-1][2]
    return elements
