"""GET /hash/{hash} and bulk POST /hash."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from contextlib import closing

import httpx
import pytest

from scanhive.analysis import verdict
from tests.server import ScanHiveServer, eicar, submit, wait_done


@pytest.fixture(scope="module")
def scanned(server) -> tuple[bytes, str]:
    body = b"hash lookup sample " + os.urandom(16)
    with server.client() as client:
        data_id = submit(client, body, filename="sample.txt")
        wait_done(client, data_id)
    return body, data_id


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
def test_lookup_by_each_hash_kind(api: httpx.Client, scanned, algorithm: str) -> None:
    body, data_id = scanned
    digest = hashlib.new(algorithm, body).hexdigest()
    for spelling in (digest, digest.upper()):
        report = api.get(f"/hash/{spelling}").json()
        assert report["data_id"] == data_id
        assert report["file_info"][algorithm] == digest
        assert report["scan_results"]["scan_all_result_i"] == 0


def test_lookup_returns_latest_result(api: httpx.Client) -> None:
    body = b"scanned twice " + os.urandom(8)
    first = submit(api, body)
    wait_done(api, first)
    second = submit(api, body)
    wait_done(api, second)
    assert api.get(f"/hash/{hashlib.sha256(body).hexdigest()}").json()["data_id"] == second


def test_unknown_and_invalid_hashes(api: httpx.Client) -> None:
    unknown = "0" * 64
    answer = api.get(f"/hash/{unknown}")
    assert answer.status_code == 200
    assert answer.json() == {unknown: "Not Found"}
    for bad in ("xyz", "g" * 32, "a" * 33):
        assert api.get(f"/hash/{bad}").status_code == 404


def test_lookup_headers_rule_and_timerange(api: httpx.Client, scanned) -> None:
    body, data_id = scanned
    digest = hashlib.md5(body).hexdigest()
    assert api.get(f"/hash/{digest}", headers={"rule": "File Scan"}).json()["data_id"] == data_id
    assert api.get(f"/hash/{digest}", headers={"rule": "Other"}).json() == {digest: "Not Found"}
    assert api.get(f"/hash/{digest}", headers={"timerange": "1"}).json()["data_id"] == data_id
    assert api.get(f"/hash/{digest}", headers={"selfonly": "true"}).json()["data_id"] == data_id


def test_include_inprogress(make_server) -> None:
    idle = make_server(workers=0, wait_ready=False)
    with idle.client() as client:
        body = b"still queued"
        data_id = submit(client, body)
        digest = hashlib.sha1(body).hexdigest()
        assert client.get(f"/hash/{digest}").json() == {digest: "Not Found"}
        in_progress = client.get(f"/hash/{digest}", headers={"include-inprogress": "true"}).json()
    assert in_progress["data_id"] == data_id
    assert in_progress["scan_results"]["scan_all_result_i"] == 255


def test_bulk_lookup(server: ScanHiveServer, api: httpx.Client, scanned) -> None:
    body, data_id = scanned
    infected = eicar()
    infected_id = submit(api, infected)
    wait_done(api, infected_id)
    wanted = [hashlib.md5(body).hexdigest().upper(), hashlib.sha256(infected).hexdigest(), "3433B43084EABC741552E52AD8DEE457", "nonsense"]
    answer = api.post("/hash", json={"hash": wanted})
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert [d["hash"] for d in data] == wanted
    assert data[0] == {"data_id": data_id, "hash": wanted[0], "scan_result_i": 0, "total_detected_avs": 0}
    assert data[1]["data_id"] == infected_id and data[1]["scan_result_i"] == 1 and data[1]["total_detected_avs"] == 2
    assert "scan_details" not in data[1]
    for missing in data[2:]:
        assert missing["data_id"] is None and missing["scan_result_i"] == 5 and missing["total_detected_avs"] == -1
    detailed = api.post("/hash", json={"hash": wanted}, headers={"includescandetails": "1"}).json()["data"]
    assert [d["total_detected_avs"] for d in detailed] == [0, 2, -1, -1]
    assert {e["scan_result_i"] for e in detailed[0]["scan_details"].values()} == {0}
    assert detailed[1]["scan_details"]["ClamAV"]["threat_found"] == "Eicar-Test-Signature"
    assert sum(1 for e in detailed[1]["scan_details"].values() if verdict.is_detection(e["scan_result_i"])) == 2
    # A result stored without its count (by a ScanHive older than the column) is counted from its engines.
    with closing(sqlite3.connect(server.data_dir / "scanhive.db")) as db, db:
        db.execute("UPDATE jobs SET total_detected_avs = NULL WHERE data_id = ?", (infected_id,))
    assert api.post("/hash", json={"hash": wanted}).json()["data"] == data


def test_bulk_lookup_limits_and_errors(api: httpx.Client) -> None:
    empty = api.post("/hash", json={"hash": []})
    assert empty.status_code == 400
    assert empty.json() == {"error": {"code": 400062, "messages": ["The `hash` field is empty"]}}
    assert api.post("/hash", content=b"{not json").status_code == 400
    assert api.post("/hash", json={"hash": ["a" * 32] * 1001}).status_code == 400
    thousand = api.post("/hash", json={"hash": [f"{i:032x}" for i in range(1000)]})
    assert thousand.status_code == 200 and len(thousand.json()["data"]) == 1000
