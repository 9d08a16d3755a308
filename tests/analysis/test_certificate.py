"""The batch signing key: made once per data dir, also when several API processes sign at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import yaml

from scanhive.analysis.certificate import BatchSigner


def _certificate_signed_with(data_dir: Path) -> str:
    return yaml.safe_load(BatchSigner(data_dir).sign({"batch_id": "b1"}))["certificate"]


def test_processes_signing_at_once_make_one_key(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        certificates = pool.map(_certificate_signed_with, [tmp_path] * 4)
    assert len(set(certificates)) == 1
    assert certificates[0] == (tmp_path / "keys" / "batch-signing-cert.pem").read_text()
    assert _certificate_signed_with(tmp_path) == certificates[0]  # kept for later runs
