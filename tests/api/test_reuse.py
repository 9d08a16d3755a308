"""Resubmitting an identical file: answered at once from the earlier result, and marked so."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pyzipper

from tests.api.test_archives import zip_of
from tests.api.test_engine_lineup import admin_client
from tests.api.test_webhooks import Receiver
from tests.server import ScanHiveServer, eicar, submit, wait_done

#: What differs between a report and the one it was reused from, besides the reused_from marks.
_PER_JOB = {"data_id", "worst_data_id", "upload_timestamp", "start_time", "total_time", "processing_time", "queue_time",
            "hash_time", "reused_from"}


def _reused_from(report: dict[str, Any]) -> str | None:
    return report["process_info"].get("reused_from")


def _submitted_and_final(client: httpx.Client, content: bytes, **headers: str) -> dict[str, Any]:
    """Submit and read the report once, without waiting: a reused result is final already."""
    return client.get(f"/file/{submit(client, content, **headers)}").json()


def test_resubmitted_file_is_answered_from_the_first_result(api: httpx.Client) -> None:
    content = b"resubmitted sample " + os.urandom(16)
    first = wait_done(api, submit(api, content, filename="sample.txt"))
    again = _submitted_and_final(api, content, filename="copy.txt", user_agent="second-client", metadata="ticket-2")
    third = _submitted_and_final(api, content, filename="sample.txt")
    assert _reused_from(first) is None  # a new file is scanned
    assert again["scan_results"]["progress_percentage"] == 100
    assert _reused_from(again) == first["data_id"]
    assert again["data_id"] != first["data_id"]
    assert again["scan_results"]["scan_all_result_i"] == first["scan_results"]["scan_all_result_i"] == 0
    assert again["scan_results"]["scan_details"] == first["scan_results"]["scan_details"]
    assert again["file_info"]["display_name"] == "copy.txt"
    assert again["file_info"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert again["process_info"]["user_agent"] == "second-client" and again["metadata"] == "ticket-2"
    assert _reused_from(third) == first["data_id"]  # the scan the result comes from, not the copy
    assert api.get(f"/hash/{hashlib.sha256(content).hexdigest()}").json()["data_id"] == third["data_id"]


def _stored_copies(server: ScanHiveServer, content: bytes) -> int:
    """How many files in the server's file store hold exactly `content`."""
    stored = (server.data_dir / "files").glob("??/*")
    return sum(1 for path in stored if path.stat().st_size == len(content) and path.read_bytes() == content)


def test_resubmitted_file_is_stored_once(server: ScanHiveServer, api: httpx.Client) -> None:
    content = b"stored once " + os.urandom(16)
    first = wait_done(api, submit(api, content))
    again = [_submitted_and_final(api, content) for _ in range(3)]
    assert [_reused_from(report) for report in again] == [first["data_id"]] * 3
    assert _stored_copies(server, content) == 1
    assert not any((server.data_dir / "files" / "incoming").iterdir())


def test_resubmitted_eicar_stays_infected(api: httpx.Client) -> None:
    first = wait_done(api, submit(api, eicar(), filename="eicar.com"))
    again = _submitted_and_final(api, eicar(), filename="eicar.com")
    assert _reused_from(again) == (_reused_from(first) or first["data_id"])
    assert again["scan_results"]["scan_all_result_i"] == 1
    assert again["scan_results"]["scan_details"]["ClamAV"]["threat_found"] == "Eicar-Test-Signature"
    assert again["process_info"]["result"] == "Blocked"


def test_name_failing_the_extension_check_is_scanned_again(api: httpx.Client) -> None:
    content = b"plain text, later named as a program " + os.urandom(8).hex().encode()
    first = wait_done(api, submit(api, content, filename="notes.txt"))
    renamed = wait_done(api, submit(api, content, filename="notes.exe"))
    assert _reused_from(renamed) is None
    assert first["filetype_info"]["is_file_type_mismatch"] is False
    assert renamed["filetype_info"]["is_file_type_mismatch"] is True


def test_resubmission_counts_in_its_batch(api: httpx.Client) -> None:
    content = b"batched twice " + os.urandom(8)
    wait_done(api, submit(api, content))
    batch_id = api.post("/file/batch").json()["batch_id"]
    data_id = submit(api, content, batch=batch_id)
    batch = api.get(f"/file/batch/{batch_id}").json()
    assert batch["batch_files"]["batch_count"] == 1
    assert batch["batch_files"]["files_in_batch"][0]["data_id"] == data_id
    assert batch["scan_results"]["scan_all_result_i"] == 0 and batch["process_info"]["result"] == "Allowed"


def test_reuse_can_be_switched_off(make_server) -> None:
    server = make_server({"SCANHIVE_REUSE_RESULTS": "false"})
    with server.client() as client:
        content = b"always scanned " + os.urandom(8)
        wait_done(client, submit(client, content))
        again = wait_done(client, submit(client, content))
        archive = zip_of({"inside.txt": content})
        wait_done(client, submit(client, archive, filename="a.zip"))
        archive_again = wait_done(client, submit(client, archive, filename="a.zip"))
        [child] = archive_again["extracted_files"]["files_in_archive"]
        child_again = client.get(f"/file/{child['data_id']}").json()
    assert _reused_from(again) is None
    assert _reused_from(archive_again) is None and _reused_from(child_again) is None


def test_no_reuse_after_definitions_or_lists_change(make_server, tmp_path: Path) -> None:
    server = make_server()
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "extra.yar").write_text("rule Extra_Marker { strings: $a = \"EXTRA-MARKER\" condition: $a }")
    content = b"watched while definitions change " + os.urandom(8)
    with admin_client(server) as client:
        before = wait_done(client, submit(client, content))
        answer = client.put("/admin/config/yara/sources", json={"local_sources": [{"source": str(rules)}]})
        assert answer.status_code == 200
        after_rules = wait_done(client, submit(client, content))
        reused = _submitted_and_final(client, content)
        client.put("/admin/config/skip", json={"whitelist": {hashlib.sha256(content).hexdigest(): {"comment": "ok"}}})
        listed = wait_done(client, submit(client, content))
    assert _reused_from(after_rules) is None
    old_yara, new_yara = (r["scan_results"]["scan_details"]["YARA"]["def_time"] for r in (before, after_rules))
    assert new_yara > old_yara
    assert _reused_from(reused) == after_rules["data_id"]
    assert _reused_from(listed) is None and listed["scan_results"]["scan_all_result_i"] == 7


def _without_per_job(value: Any) -> Any:
    """A report (or part) without what is the job's own: data_ids, timestamps, timings, reused_from."""
    if isinstance(value, dict):
        return {key: _without_per_job(item) for key, item in value.items() if key not in _PER_JOB}
    if isinstance(value, list):
        return [_without_per_job(item) for item in value]
    return value


def _extracted(client: httpx.Client, report: dict[str, Any]) -> list[dict[str, Any]]:
    """The reports of an archive's extracted files at every depth, parents before their children."""
    found = []
    for entry in report.get("extracted_files", {}).get("files_in_archive", []):
        child = client.get(f"/file/{entry['data_id']}").json()
        found += [child, *_extracted(client, child)]
    return found


def test_resubmitted_archive_is_answered_with_its_extracted_files(api: httpx.Client) -> None:
    archive = zip_of({"eicar.com": eicar(), "clean.txt": b"clean " + os.urandom(8)})
    first = wait_done(api, submit(api, archive, filename="pair.zip"))
    again = _submitted_and_final(api, archive, filename="pair.zip")
    third = _submitted_and_final(api, archive, filename="pair.zip")
    assert _reused_from(first) is None
    assert _reused_from(again) == _reused_from(third) == first["data_id"]
    assert again["scan_results"]["scan_all_result_i"] == first["scan_results"]["scan_all_result_i"] == 1
    assert _without_per_job(again) == _without_per_job(first)  # extracted_files and extraction_info included
    entries = {e["display_name"]: e for e in again["extracted_files"]["files_in_archive"]}
    assert set(entries) == {"pair.zip/eicar.com", "pair.zip/clean.txt"}
    assert again["extracted_files"]["worst_data_id"] == entries["pair.zip/eicar.com"]["data_id"]
    # Final the moment it was submitted, every file a copy of the first scan's: no worker ran it.
    originals = {c["file_info"]["display_name"]: c["data_id"] for c in _extracted(api, first)}
    copies = _extracted(api, again)
    assert {c["data_id"] for c in copies}.isdisjoint(originals.values())
    assert {c["file_info"]["display_name"]: _reused_from(c) for c in copies} == originals
    assert {c["file_info"]["display_name"]: _reused_from(c) for c in _extracted(api, third)} == originals
    infected = api.get(f"/file/{entries['pair.zip/eicar.com']['data_id']}").json()
    assert infected["scan_results"]["scan_details"]["ClamAV"]["threat_found"] == "Eicar-Test-Signature"
    assert infected["scan_results"]["progress_percentage"] == 100


def test_nested_archive_is_reused_at_every_depth(api: httpx.Client) -> None:
    inner = zip_of({"eicar.com": eicar(), "salt.txt": os.urandom(8)})
    archive = zip_of({"middle.zip": zip_of({"inner.zip": inner, "note.txt": b"note"})})
    first = wait_done(api, submit(api, archive, filename="outer.zip"))
    again = _submitted_and_final(api, archive, filename="renamed.zip")
    originals, copies = _extracted(api, first), _extracted(api, again)
    assert len(copies) == len(originals) == 5
    assert [_reused_from(c) for c in copies] == [o["data_id"] for o in originals]
    # named after the new upload, as a new extraction would name them
    assert [c["file_info"]["display_name"] for c in copies] == [
        o["file_info"]["display_name"].replace("outer.zip/", "renamed.zip/", 1) for o in originals
    ]
    for original, copy in zip(originals, copies):
        assert copy["scan_results"]["scan_all_result_i"] == original["scan_results"]["scan_all_result_i"]
        assert copy.get("extracted_files", {}).get("files_extracted_count") == original.get(
            "extracted_files", {}
        ).get("files_extracted_count")
    assert again["scan_results"]["scan_all_result_i"] == 1
    assert "renamed.zip/middle.zip/inner.zip/salt.txt" in [c["file_info"]["display_name"] for c in copies]


def test_archive_sent_with_other_passwords_is_scanned_again(api: httpx.Client) -> None:
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(b"cow")
        archive.writestr("secret.com", eicar())
        archive.writestr("salt.txt", os.urandom(8))
    locked = buffer.getvalue()
    first = wait_done(api, submit(api, locked, filename="locked.zip", archivepwd="cow"))
    same = _submitted_and_final(api, locked, filename="locked.zip", archivepwd="cow")
    other = wait_done(api, submit(api, locked, filename="locked.zip", archivepwd="fox"))
    assert first["scan_results"]["scan_all_result_i"] == same["scan_results"]["scan_all_result_i"] == 1
    assert _reused_from(same) == first["data_id"]
    assert _reused_from(other) is None
    assert other["scan_results"]["scan_all_result_i"] == 12


def test_reused_archive_pages_like_the_original(api: httpx.Client) -> None:
    archive = zip_of({f"f{i:03}.txt": f"file {i} ".encode() + os.urandom(8) for i in range(60)})
    first = wait_done(api, submit(api, archive, filename="many.zip"))
    again = _submitted_and_final(api, archive, filename="many.zip")
    assert _reused_from(again) == first["data_id"]
    for bounds in ({}, {"first": 50, "size": 20}, {"first": 7, "size": 3}):
        pages = [api.get(f"/file/{r['data_id']}", params=bounds).json()["extracted_files"] for r in (first, again)]
        assert _without_per_job(pages[1]) == _without_per_job(pages[0])
        assert pages[1]["files_extracted_count"] == 60
        assert pages[1]["first_index"] == bounds.get("first", 0)
    assert [f["display_name"] for f in pages[1]["files_in_archive"]] == ["many.zip/f007.txt", "many.zip/f008.txt",
                                                                          "many.zip/f009.txt"]


def test_reused_archive_calls_back_once_and_counts_once_in_its_batch(api: httpx.Client) -> None:
    archive = zip_of({"a.txt": b"a " + os.urandom(8), "b.txt": b"b"})
    wait_done(api, submit(api, archive, filename="cb.zip"))
    receiver = Receiver([])
    try:
        batch_id = api.post("/file/batch").json()["batch_id"]
        data_id = submit(api, archive, filename="cb.zip", callbackurl=receiver.url, batch=batch_id)
        receiver.wait_for(1)
        time.sleep(1.0)  # time for any further callback to arrive
    finally:
        receiver.http.shutdown()
    [body] = receiver.bodies
    assert body["data_id"] == data_id and _reused_from(body) is not None
    assert body["extracted_files"]["files_extracted_count"] == 2
    batch = api.get(f"/file/batch/{batch_id}").json()
    assert [f["data_id"] for f in batch["batch_files"]["files_in_batch"]] == [data_id]


def test_archive_over_a_limit_is_reused_with_the_files_it_had(make_server, tmp_path: Path) -> None:
    config = tmp_path / "limits.toml"
    config.write_text('[[rules]]\nname = "File Scan"\n[rules.archive]\nmax_files = 2\n')
    server = make_server({"SCANHIVE_CONFIG": str(config)})
    archive = zip_of({f"{i}.txt": f"entry {i}".encode() for i in range(5)})
    with server.client() as client:
        first = wait_done(client, submit(client, archive, filename="full.zip"))
        again = _submitted_and_final(client, archive, filename="full.zip")
    assert first["scan_results"]["scan_all_result_i"] == again["scan_results"]["scan_all_result_i"] == 14
    assert _reused_from(again) == first["data_id"]
    assert _without_per_job(again) == _without_per_job(first)
    assert again["extracted_files"]["files_extracted_count"] == 2
