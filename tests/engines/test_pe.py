"""PeEngine on PE images built by pe_samples, and on a real launcher shipped with setuptools."""

from __future__ import annotations

import importlib.util
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pefile
import pytest

from scanhive.analysis import verdict
from scanhive.config import Settings
from scanhive.engines.base import HEAD_SIZE, EngineResult, ScanContext
from scanhive.engines.pe import PeEngine, pe_checksum, section_entropy

from .pe_samples import build_pe, signed_data

CODE = (".text", b"\x55\x89\xe5\x31\xc0\x5d\xc3" * 64)
NOISE = random.Random(7).randbytes(8192)
INJECTION = ["VirtualAllocEx", "WriteProcessMemory", "CreateRemoteThread", "ExitProcess"]


@pytest.fixture(scope="module")
def engine() -> PeEngine:
    return PeEngine(Settings())


def scan(engine: PeEngine, tmp_path: Path, data: bytes, name: str = "sample.exe") -> EngineResult:
    path = tmp_path / name
    path.write_bytes(data)
    return engine.scan(path, ScanContext(display_name=name, file_type="application/x-dosexec", timeout=10))


def launcher() -> Path:
    """A real, small, unsigned Windows executable that setuptools installs."""
    spec = importlib.util.find_spec("setuptools")  # found without importing setuptools (slow)
    path = Path(spec.origin).parent / "cli-32.exe" if spec and spec.origin else None
    if path is None or not path.is_file():
        pytest.skip("setuptools' cli-32.exe launcher is not installed")
    return path


def with_correct_checksum(data: bytes) -> bytes:
    pe = pefile.PE(data=data)
    pe.OPTIONAL_HEADER.CheckSum = pe.generate_checksum()
    return pe.write()


@pytest.mark.parametrize(
    "data",
    [
        b"just text",
        b"MZ" + b"\xff" * 200,  # e_lfanew points outside the file
        b"MZ" + b"\0" * 58 + struct.pack("<I", 0x40) + b"NE" + b"\0" * 64,  # a 16-bit NE executable
    ],
    ids=["text", "mz-garbage", "ne"],
)
def test_files_without_a_pe_header_are_not_analyzed(engine: PeEngine, tmp_path: Path, data: bytes) -> None:
    assert scan(engine, tmp_path, data) == EngineResult.clean()


def test_accepts_only_files_that_may_be_pe(engine: PeEngine) -> None:
    far_header = b"MZ" + b"\0" * 58 + struct.pack("<I", HEAD_SIZE) + b"\0" * HEAD_SIZE  # checked by scan()
    assert engine.accepts("application/x-dosexec", build_pe([CODE])[:HEAD_SIZE])
    assert engine.accepts("application/octet-stream", far_header[:HEAD_SIZE])
    for declined in (b"just text", b"MZ" + b"\0" * 58 + struct.pack("<I", 0x40) + b"NE" + b"\0" * 64, b"MZ"):
        assert not engine.accepts("application/x-dosexec", declined)


def test_pe_truncated_inside_its_headers_fails(engine: PeEngine, tmp_path: Path) -> None:
    with pytest.raises(pefile.PEFormatError):
        scan(engine, tmp_path, build_pe([CODE])[:0x60])


def test_plain_pe_is_clean(engine: PeEngine, tmp_path: Path) -> None:
    data = build_pe([CODE, (".data", b"settings" * 40)], imports={"KERNEL32.dll": ["ExitProcess"]})
    result = scan(engine, tmp_path, data)
    assert result.scan_result_i == verdict.NO_THREAT
    assert result.details["machine"] == "IMAGE_FILE_MACHINE_I386"
    assert [s["name"] for s in result.details["sections"]] == [".text", ".data", ".idata"]


def test_upx_sections(engine: PeEngine, tmp_path: Path) -> None:
    result = scan(engine, tmp_path, build_pe([("UPX0", b""), ("UPX1", CODE[1])]))
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.threat_found == "packed with UPX"
    assert result.details["packers"] == ["UPX"]


def test_upx_magic_with_renamed_sections(engine: PeEngine, tmp_path: Path) -> None:
    data = bytearray(build_pe([CODE]))
    data[0x3E0:0x3E4] = b"UPX!"
    assert scan(engine, tmp_path, bytes(data)).threat_found == "packed with UPX"


def test_other_packer_section(engine: PeEngine, tmp_path: Path) -> None:
    assert scan(engine, tmp_path, build_pe([CODE, (".aspack", CODE[1])])).threat_found == "packed with ASPack"


def test_high_entropy_section(engine: PeEngine, tmp_path: Path) -> None:
    result = scan(engine, tmp_path, build_pe([CODE, (".data", NOISE)]))
    assert result.threat_found == "high-entropy section"
    assert result.details["sections"][1]["entropy"] > 7.9


def test_process_injection_imports(engine: PeEngine, tmp_path: Path) -> None:
    result = scan(engine, tmp_path, build_pe([CODE], imports={"KERNEL32.dll": INJECTION}))
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert result.threat_found == "process injection imports"
    assert result.details["suspicious_imports"] == {
        "process injection": ["CreateRemoteThread", "VirtualAllocEx", "WriteProcessMemory"]
    }


def test_part_of_an_import_pattern_is_clean(engine: PeEngine, tmp_path: Path) -> None:
    imports = {"KERNEL32.dll": INJECTION[:2], "USER32.dll": ["MessageBoxA"]}
    result = scan(engine, tmp_path, build_pe([CODE], imports=imports))
    assert result.scan_result_i == verdict.NO_THREAT


def test_overlay(engine: PeEngine, tmp_path: Path) -> None:
    result = scan(engine, tmp_path, build_pe([CODE], overlay=b"appended payload"))
    assert result.threat_found == "overlay"
    assert result.details["overlay_size"] == len(b"appended payload")


def test_bad_checksum(engine: PeEngine, tmp_path: Path) -> None:
    data = build_pe([CODE], checksum=0x1234)
    result = scan(engine, tmp_path, data)
    assert result.threat_found == "bad checksum"
    computed = pefile.PE(data=data).generate_checksum()
    assert result.details["checksum"] == {"stored": 0x1234, "computed": computed}


def test_correct_checksum_is_clean(engine: PeEngine, tmp_path: Path) -> None:
    assert scan(engine, tmp_path, with_correct_checksum(build_pe([CODE]))).scan_result_i == verdict.NO_THREAT


@pytest.mark.parametrize("tail", [b"", b"x", b"xyz", NOISE[:1001]])
def test_checksum_matches_pefile(tail: bytes) -> None:
    data = build_pe([CODE, (".data", NOISE)], overlay=tail, checksum=0xDEADBEEF)
    pe = pefile.PE(data=data)
    assert pe_checksum(data, pe.OPTIONAL_HEADER.get_file_offset() + 0x40) == pe.generate_checksum()


def test_section_entropy_matches_pefile() -> None:
    blocks = (".rsrc", CODE[1] * 700 + NOISE * 10)  # over 256 KiB: counted in several blocks
    sections = [CODE, (".data", NOISE), (".rdata", b"\0" * 700), (".bss", b""), blocks]
    pe = pefile.PE(data=build_pe(sections, imports={"KERNEL32.dll": INJECTION}))
    for section in pe.sections:
        assert section_entropy(section.get_data()) == pytest.approx(section.get_entropy(), abs=1e-12)


def test_all_findings_together(engine: PeEngine, tmp_path: Path) -> None:
    sections = [("UPX0", b""), ("UPX1", NOISE)]
    data = build_pe(sections, imports={"KERNEL32.dll": INJECTION}, overlay=b"!" * 64, checksum=1)
    result = scan(engine, tmp_path, data)
    assert result.details["reasons"] == [
        "packed with UPX", "high-entropy section", "process injection imports", "overlay", "bad checksum",
    ]
    assert result.threat_found == ", ".join(result.details["reasons"])


def test_signer_infos_without_overlay(engine: PeEngine, tmp_path: Path) -> None:
    blob = signed_data("Example Software Ltd")
    result = scan(engine, tmp_path, build_pe([CODE], signature=blob))
    assert result.scan_result_i == verdict.NO_THREAT  # the certificate table is not an overlay
    assert result.details["signer_infos"] == [{
        "digest_algorithm": "sha256",
        "digest_encryption_algorithm": "ecdsa-with-SHA256",
        "issuer": "Example Code Signing CA",
        "serial_number": "0123456789abcdef",
        "vendor_name": "Example Software Ltd",
        "version": "2",
    }]


def test_rsa_signer(engine: PeEngine, tmp_path: Path) -> None:
    blob = signed_data(serial=7, rsa_key=True)
    info = scan(engine, tmp_path, build_pe([CODE], signature=blob)).details["signer_infos"][0]
    assert info["digest_algorithm"] == "sha256"
    assert info["digest_encryption_algorithm"] == "rsaEncryption"
    assert info["serial_number"] == "07"


def test_malformed_signature_is_reported(engine: PeEngine, tmp_path: Path) -> None:
    result = scan(engine, tmp_path, build_pe([CODE], signature=b"\x30\x82\x01\x00not a pkcs7"))
    assert result.details["signer_infos"] == []
    assert result.details["signature_error"]


def test_real_launcher_is_clean(engine: PeEngine, tmp_path: Path) -> None:
    result = scan(engine, tmp_path, launcher().read_bytes(), "cli-32.exe")
    assert result.scan_result_i == verdict.NO_THREAT
    assert ".text" in [s["name"] for s in result.details["sections"]]


@pytest.mark.skipif(shutil.which("upx") is None, reason="upx is not installed (Debian package upx-ucl)")
def test_real_upx_packed_executable(engine: PeEngine, tmp_path: Path) -> None:
    packed = tmp_path / "packed.exe"
    subprocess.run(["upx", "-q", "-o", str(packed), str(launcher())], check=True, capture_output=True)
    result = scan(engine, tmp_path, packed.read_bytes(), "packed-copy.exe")
    assert result.scan_result_i == verdict.SUSPICIOUS
    assert "UPX" in result.threat_found
