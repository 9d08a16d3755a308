"""Batches (seed 003): create, add, close, status with pagination, cancel, signed certificate."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import httpx
import yaml

from tests.server import eicar, submit, wait_done


def new_batch(client: httpx.Client, **headers: str) -> str:
    answer = client.post("/file/batch", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["batch_id"]


def test_batch_life_cycle_and_signed_certificate(api: httpx.Client, tmp_path: Path) -> None:
    batch_id = new_batch(api, **{"user-data": "quarterly%20upload", "user_agent": "pytest"})
    clean = [submit(api, f"clean {i}".encode(), batch=batch_id, filename=f"c{i}.txt") for i in range(3)]
    infected = submit(api, eicar(), batch=batch_id, filename="eicar.com")
    for data_id in [*clean, infected]:
        wait_done(api, data_id)

    closed = api.post(f"/file/batch/{batch_id}/close")
    assert closed.status_code == 200
    report = closed.json()
    assert report["batch_id"] == batch_id and report["is_closed"] is True
    assert report["user_data"] == "quarterly upload"
    assert report["batch_files"]["batch_count"] == 4
    assert [f["data_id"] for f in report["batch_files"]["files_in_batch"]] == [*clean, infected]
    assert report["scan_results"]["scan_all_result_i"] == 1
    assert report["process_info"]["result"] == "Blocked"
    assert report["process_info"]["profile"] == "File Scan"
    entry = report["batch_files"]["files_in_batch"][3]
    assert entry["detected_by"] == 2 and entry["display_name"] == "eicar.com"
    assert entry["scanned_with"] == api.get(f"/file/{infected}").json()["scan_results"]["total_avs"]

    late = api.post("/file", content=b"too late", headers={"batch": batch_id})
    assert late.status_code == 400

    document = api.get(f"/file/batch/{batch_id}/certificate")
    assert document.status_code == 200
    signed = yaml.safe_load(document.text)
    assert yaml.safe_load(signed["result"])["batch_id"] == batch_id
    (tmp_path / "result.yml").write_text(signed["result"])
    (tmp_path / "signature.bin").write_bytes(base64.b64decode(signed["signature"]))
    (tmp_path / "cert.pem").write_text(signed["certificate"])
    _openssl(tmp_path, "x509", "-in", "cert.pem", "-pubkey", "-noout", "-out", "pub.pem")
    verified = _openssl(tmp_path, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "signature.bin", "result.yml")
    assert verified.stdout.strip() == "Verified OK"
    (tmp_path / "result.yml").write_text(signed["result"].replace("Blocked", "Allowed"))
    tampered = _openssl(tmp_path, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "signature.bin", "result.yml", check=False)
    assert tampered.returncode != 0


def _openssl(directory: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], cwd=directory, capture_output=True, text=True, check=check)


def test_batch_pagination(api: httpx.Client) -> None:
    batch_id = new_batch(api)
    ids = [submit(api, f"page {i}".encode(), batch=batch_id) for i in range(55)]
    first_page = api.get(f"/file/batch/{batch_id}").json()["batch_files"]
    assert first_page["batch_count"] == 55 and first_page["first_index"] == 0
    assert len(first_page["files_in_batch"]) == 50
    rest = api.get(f"/file/batch/{batch_id}", params={"first": 50, "size": 10}).json()["batch_files"]
    assert [f["data_id"] for f in rest["files_in_batch"]] == ids[50:]
    assert rest["first_index"] == 50 and rest["page_size"] == 5
    assert api.get(f"/file/batch/{batch_id}", params={"first": "x"}).status_code == 400


def test_batch_uses_its_rule_and_rejects_bad_input(api: httpx.Client) -> None:
    assert api.post("/file/batch", headers={"rule": "nope"}).status_code == 400
    assert api.post("/file/batch", headers={"user-data": "x" * 1025}).status_code == 400
    assert api.post("/file", content=b"x", headers={"batch": "0" * 32}).status_code == 400
    assert api.get(f"/file/batch/{'0' * 32}").status_code == 404
    assert api.post(f"/file/batch/{'0' * 32}/close").status_code == 404
    batch_id = new_batch(api, rule="File%20Scan")
    assert wait_done(api, submit(api, b"x", batch=batch_id))["process_info"]["profile"] == "File Scan"


def test_batch_cancel(make_server) -> None:
    idle = make_server(workers=0, wait_ready=False)
    with idle.client() as client:
        batch_id = new_batch(client)
        queued = [submit(client, f"q{i}".encode(), batch=batch_id) for i in range(3)]
        in_progress = client.get(f"/file/batch/{batch_id}").json()
        assert in_progress["process_info"]["result"] == "Processing"
        assert in_progress["scan_results"]["scan_all_result_i"] == 255
        assert client.post(f"/file/batch/{batch_id}/cancel").status_code == 200
        report = client.get(f"/file/batch/{batch_id}").json()
        files = [client.get(f"/file/{d}").json() for d in queued]
        other = new_batch(client)
        submit(client, b"other", batch=other)
        assert client.post(f"/file/{other}/cancel").status_code == 200  # the v4.18 spec's path
        assert client.get(f"/file/batch/{other}").json()["scan_results"]["scan_all_result_i"] == 19
    assert report["is_closed"] is True
    assert report["scan_results"]["scan_all_result_i"] == 19
    assert all(f["scan_results"]["scan_all_result_i"] == 19 for f in files)
