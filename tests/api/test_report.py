"""GET /file/{data_id}: verdicts, the report's shape and types, in progress and final."""

from __future__ import annotations

import re

import httpx

from tests.server import eicar, submit, wait_done

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
INTEGER_FIELDS = {
    "file_info": ["file_size"],
    "scan_results": ["progress_percentage", "scan_all_result_i", "total_avs", "total_time"],
    "process_info": ["progress_percentage", "queue_time", "processing_time", "hash_time"],
}


def test_eicar_is_infected_by_clamav_and_yara(api: httpx.Client) -> None:
    report = wait_done(api, submit(api, eicar(), filename="eicar.com"))
    results = report["scan_results"]
    assert results["scan_all_result_i"] == 1
    assert results["scan_all_result_a"] == "Infected"
    assert results["scan_details"]["ClamAV"]["scan_result_i"] == 1
    assert results["scan_details"]["ClamAV"]["threat_found"] == "Eicar-Test-Signature"
    assert results["scan_details"]["YARA"]["scan_result_i"] == 1
    assert results["scan_details"]["YARA"]["threat_found"] == "EICAR_Test_File"
    info = report["process_info"]
    assert info["result"] == "Blocked"
    assert info["blocked_reason"] == "Infected"
    assert info["blocked_reasons"] == ["Infected"]
    assert info["verdicts"] == ["Infected"]


def test_clean_file_is_allowed(api: httpx.Client) -> None:
    report = wait_done(api, submit(api, b"just some harmless words\n", filename="notes.txt"))
    assert report["scan_results"]["scan_all_result_i"] == 0
    assert report["scan_results"]["scan_all_result_a"] == "No Threat Detected"
    assert report["process_info"]["result"] == "Allowed"
    assert report["process_info"]["blocked_reason"] == ""
    assert report["file_info"]["file_type"] == "text/plain"
    assert report["file_info"]["type_category"] == ["T"]
    details = report["scan_results"]["scan_details"]
    assert {"ClamAV", "YARA", "Office Macro", "PDF Analyzer", "PE Analyzer"} <= set(details)
    assert all(d["scan_result_i"] == 0 for d in details.values())


def test_final_report_shape_and_types(api: httpx.Client) -> None:
    data_id = submit(api, b"%PDF-1.4\n%%EOF\n", filename="doc.pdf")
    report = wait_done(api, data_id)
    assert report["data_id"] == data_id
    assert report["scan_results"]["data_id"] == data_id
    for block, fields in INTEGER_FIELDS.items():
        for name in fields:
            assert type(report[block][name]) is int, (block, name)
    for detail in report["scan_results"]["scan_details"].values():
        assert {"def_time", "eng_id", "location", "scan_result_i", "scan_time", "threat_found", "wait_time"} <= set(detail)
        assert type(detail["scan_time"]) is int and type(detail["wait_time"]) is int
        assert TIMESTAMP.match(detail["def_time"])
    assert TIMESTAMP.match(report["file_info"]["upload_timestamp"])
    assert TIMESTAMP.match(report["scan_results"]["start_time"])
    assert report["scan_results"]["total_avs"] == len(report["scan_results"]["scan_details"])
    assert report["process_info"]["progress_percentage"] == 100
    assert report["process_info"]["profile"] == "File Scan"
    assert report["process_info"]["post_processing"] == {
        "actions_failed": "", "actions_ran": "", "converted_destination": "", "converted_to": "", "copy_move_destination": "",
    }
    details = report["process_info"]["processing_time_details"]
    assert all(type(v) is int for v in details.values()) and "av_scan_time" in details
    assert len(report["file_info"]["sha512"]) == 128
    assert report["file_info"]["file_type"] == "application/pdf"
    assert report["file_info"]["type_category"] == ["P"]


def test_unknown_data_id_is_200_not_found(api: httpx.Client) -> None:
    answer = api.get("/file/61dffeaa728844adbf49eb090e4ece0e")
    assert answer.status_code == 200
    assert answer.json() == {"61dffeaa728844adbf49eb090e4ece0e": "Not Found"}


def test_in_progress_report(make_server) -> None:
    idle = make_server(workers=0, wait_ready=False)  # no worker: the file stays queued
    with idle.client() as client:
        data_id = submit(client, b"waiting")
        report = client.get(f"/file/{data_id}").json()
    assert report["process_info"]["result"] == "Processing"
    assert report["scan_results"]["scan_all_result_i"] == 255
    assert report["scan_results"]["scan_all_result_a"] == "In Progress"
    assert report["scan_results"]["progress_percentage"] < 100
    assert report["process_info"]["progress_percentage"] < 100
    assert "post_processing" in report["process_info"]


def test_global_timeout_header_ends_with_code_31(api: httpx.Client) -> None:
    report = wait_done(api, submit(api, b"x" * 1000, **{"global-timeout": "0.000001"}))
    assert report["scan_results"]["scan_all_result_i"] == 31
    assert report["scan_results"]["scan_all_result_a"] == "Global Timeout Exceeded"
    assert report["process_info"]["result"] == "Blocked"


def test_file_over_rule_size_is_not_scanned(make_server, tmp_path) -> None:
    config = tmp_path / "small.toml"
    config.write_text('[[rules]]\nname = "File Scan"\nmax_file_size = 10\n')
    small = make_server({"SCANHIVE_CONFIG": str(config)})
    with small.client() as client:
        assert client.get("/file/rules").json() == [{"max_file_size": 10, "name": "File Scan"}]
        report = wait_done(client, submit(client, eicar()))
    assert report["scan_results"]["scan_all_result_i"] == 10
    assert report["scan_results"]["scan_details"] == {}
    assert report["process_info"]["result"] == "Blocked"
    assert "maximum" in report["process_info"]["blocked_reason"]
