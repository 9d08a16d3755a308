"""Signed batch results: the batch report as YAML, signed with a key ScanHive generates and keeps.

The document holds `result` (the report as YAML text), `signature` (base64 RSA PKCS#1 v1.5 over
SHA-256 of `result`'s UTF-8 bytes) and `certificate` (the self-signed X.509 certificate of the
signing key), so anyone can check it with openssl; see README "Batches".
"""

from __future__ import annotations

import base64
import datetime
import fcntl
import os
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

_KEY_FILE = "batch-signing-key.pem"
_CERT_FILE = "batch-signing-cert.pem"


class BatchSigner:
    """Loads (or on first use creates) the signing key and certificate under `<data_dir>/keys`."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "keys"
        self._key: rsa.RSAPrivateKey | None = None
        self._certificate_pem = ""

    def _load(self) -> rsa.RSAPrivateKey:
        if self._key is not None:
            return self._key
        key_path, cert_path = self.directory / _KEY_FILE, self.directory / _CERT_FILE
        if not cert_path.exists():  # written last: once it is there, the pair is complete
            self._create_once(key_path, cert_path)
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        self._key, self._certificate_pem = key, cert_path.read_text()
        return key

    def _create_once(self, key_path: Path, cert_path: Path) -> None:
        """Create the pair unless another process did first (API processes may sign at once)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "create.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not key_path.exists():
                self._create(key_path, cert_path)

    def _create(self, key_path: Path, cert_path: Path) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ScanHive batch signing")])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))

    def sign(self, report: dict[str, Any]) -> str:
        """The signed YAML document for a batch report."""
        key = self._load()
        result = yaml.safe_dump(report, sort_keys=True, allow_unicode=True)
        signature = key.sign(result.encode(), padding.PKCS1v15(), hashes.SHA256())
        document = {
            "result": result,
            "signature": base64.b64encode(signature).decode(),
            "signature_algorithm": "sha256WithRSAEncryption",
            "certificate": self._certificate_pem,
        }
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1_000_000)
