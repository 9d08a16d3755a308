"""Resubmitting an identical file: answered at once from the earlier result, and marked so."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx

from tests.api.test_engine_lineup import admin_client
from tests.server import eicar, submit, wait_done


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
    assert _reused_from(again) is None


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
