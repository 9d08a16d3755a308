"""Issue 3 through the HTTP API: each engine's verdict on real samples, and engine management."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pikepdf
import pytest
from pikepdf import Dictionary, Name, String

from tests.engines.office_samples import docm
from tests.engines.pe_samples import build_pe, signed_data
from tests.server import ADMIN_PASSWORD, ScanHiveServer, eicar, submit, wait_done


def admin_client(server: ScanHiveServer) -> httpx.Client:
    """A client whose requests carry an admin session as apikey."""
    login = httpx.post(f"{server.url}/login", json={"user": "admin", "password": ADMIN_PASSWORD})
    return server.client(headers={"apikey": login.json()["session_id"]})


@pytest.fixture
def admin(server: ScanHiveServer) -> Iterator[httpx.Client]:
    with admin_client(server) as client:
        yield client


def pdf_with(**catalog: object) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    for key, value in catalog.items():
        pdf.Root[Name("/" + key)] = value
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def test_office_macro_engine(api: httpx.Client) -> None:
    macro = 'Sub AutoOpen()\n  Shell "cmd /c calc.exe"\nEnd Sub\n'
    report = wait_done(api, submit(api, docm(macro), filename="invoice.docm"))
    office = report["scan_results"]["scan_details"]["Office Macro"]
    assert office["scan_result_i"] == 2 and "Shell" in office["threat_found"]
    assert report["scan_results"]["scan_all_result_i"] == 2
    assert report["process_info"]["result"] == "Blocked"


def test_pdf_engine(api: httpx.Client) -> None:
    javascript = pdf_with(OpenAction=Dictionary(S=Name.JavaScript, JS=String("app.alert(1)")))
    report = wait_done(api, submit(api, javascript, filename="form.pdf"))
    pdf = report["scan_results"]["scan_details"]["PDF Analyzer"]
    assert pdf["scan_result_i"] == 2 and "JavaScript" in pdf["threat_found"]
    plain = wait_done(api, submit(api, pdf_with(), filename="plain.pdf"))
    assert plain["scan_results"]["scan_all_result_i"] == 0


def test_pe_engine_flags_upx_packing(api: httpx.Client) -> None:
    packed = build_pe([("UPX0", b""), ("UPX1", os.urandom(4096))])
    report = wait_done(api, submit(api, packed, filename="tool.exe"))
    pe = report["scan_results"]["scan_details"]["PE Analyzer"]
    assert pe["scan_result_i"] == 2 and "UPX" in pe["threat_found"]
    assert report["file_info"]["type_category"] == ["E"]
    assert "signer_infos" not in report["file_info"]


def test_pe_signers_in_file_info(api: httpx.Client) -> None:
    signed = build_pe([(".text", b"\xc3" * 64)], signature=signed_data("Example Software Ltd"))
    report = wait_done(api, submit(api, signed, filename="signed.exe"))
    [signer] = report["file_info"]["signer_infos"]
    assert signer["vendor_name"] == "Example Software Ltd" and signer["digest_algorithm"] == "sha256"
    assert signer["serial_number"] == "0123456789abcdef"


def test_extension_mismatch_is_reported_and_blocks_when_the_rule_says_so(make_server, tmp_path: Path) -> None:
    config = tmp_path / "mismatch.toml"
    config.write_text('[[rules]]\nname = "File Scan"\ndetect_type_mismatch = true\n'
                      '[[rules]]\nname = "No executables"\nblocked_types = ["E"]\n')
    strict = make_server({"SCANHIVE_CONFIG": str(config)})
    executable = build_pe([(".text", b"\x90" * 512)])
    with strict.client() as client:
        disguised = wait_done(client, submit(client, executable, filename="invoice.pdf"))
        honest = wait_done(client, submit(client, executable, filename="setup.exe"))
        blocked = wait_done(client, submit(client, executable, filename="setup.exe", rule="No%20executables"))
    info = disguised["filetype_info"]
    assert info["is_file_type_mismatch"] is True
    assert info["spoofing_info"]["detection_result"] == "detected"
    assert disguised["scan_results"]["scan_all_result_i"] == 17
    assert disguised["process_info"]["blocked_reason"] == "Mismatch"
    assert honest["filetype_info"]["is_file_type_mismatch"] is False
    assert honest["scan_results"]["scan_all_result_i"] == 0
    assert blocked["scan_results"]["scan_all_result_i"] == 8
    assert blocked["filetype_info"]["final_verdict"]["verdict"] == "blocked"


def test_engine_disable_enable_persists(make_server) -> None:
    server = make_server()
    with admin_client(server) as client:
        assert client.post("/admin/engine/clamav_1_linux/disable").json() == {"result": "Engine is disabled"}
        assert client.post("/admin/engine/yara_1_linux/pin").json() == {"result": "Engine is pinned"}
        assert client.post("/admin/engine/nope_1_linux/disable").status_code == 404
    server.stop()
    server.start()
    with admin_client(server) as client:
        engines = {e["eng_id"]: e for e in client.get("/stat/engines").json()}
        assert engines["clamav_1_linux"]["state"] == "disabled" and engines["clamav_1_linux"]["active"] is False
        assert engines["yara_1_linux"]["pinned"] is True
        without = wait_done(client, submit(client, eicar()))
        assert "ClamAV" not in without["scan_results"]["scan_details"]
        client.post("/admin/engine/clamav_1_linux/enable")
        with_clamav = wait_done(client, submit(client, eicar()))
    assert with_clamav["scan_results"]["scan_details"]["ClamAV"]["scan_result_i"] == 1


def test_engine_admin_needs_admin(api: httpx.Client) -> None:
    assert api.post("/admin/engine/clamav_1_linux/disable").status_code == 403
    assert api.get("/admin/config/skip").status_code == 403
    assert api.get("/admin/config/yara/sources").status_code == 403


def test_skip_lists(make_server) -> None:
    server = make_server()
    allowed, blocked, excused = eicar(), b"a harmless file on the blocklist", eicar() + b"\n"
    import hashlib

    lists = {
        "whitelist": {hashlib.sha256(allowed).hexdigest(): {"comment": "lab sample"}},
        "blacklist": {hashlib.md5(blocked).hexdigest(): {"comment": "banned"}},
        "skip": {hashlib.sha1(excused).hexdigest(): {"comment": "yara only", "engines": ["clamav_1_linux"]}},
    }
    with admin_client(server) as client:
        answer = client.put("/admin/config/skip", json=lists)
        assert answer.status_code == 200 and answer.json() == json.loads(json.dumps(lists))
        assert client.get("/admin/config/skip").json() == answer.json()
        assert client.put("/admin/config/skip", json={"whitelist": {"nothex": {}}}).status_code == 400
        assert client.put("/admin/config/skip", content=b"{").status_code == 400
        whitelisted = wait_done(client, submit(client, allowed))
        blacklisted = wait_done(client, submit(client, blocked))
        skipped = wait_done(client, submit(client, excused))
    assert whitelisted["scan_results"]["scan_all_result_i"] == 7 and whitelisted["process_info"]["result"] == "Allowed"
    assert whitelisted["scan_results"]["scan_details"] == {}
    assert blacklisted["scan_results"]["scan_all_result_i"] == 8 and blacklisted["process_info"]["result"] == "Blocked"
    assert "ClamAV" not in skipped["scan_results"]["scan_details"]
    assert skipped["scan_results"]["scan_details"]["YARA"]["scan_result_i"] == 1


def test_list_and_switch_changes_apply_to_the_next_file(make_server) -> None:
    import hashlib

    server = make_server(workers=1)  # one worker, so the file after a change meets what it kept
    banned = b"a file banned after the worker had looked up the lists"
    with admin_client(server) as client:
        assert wait_done(client, submit(client, b"before the change"))["scan_results"]["scan_all_result_i"] == 0
        blacklist = {"blacklist": {hashlib.sha256(banned).hexdigest(): {"comment": "banned"}}}
        assert client.put("/admin/config/skip", json=blacklist).status_code == 200
        assert wait_done(client, submit(client, banned))["scan_results"]["scan_all_result_i"] == 8
        assert client.post("/admin/engine/yara_1_linux/disable").status_code == 200
        without_yara = wait_done(client, submit(client, b"after disabling YARA"))
    assert "YARA" not in without_yara["scan_results"]["scan_details"]


def test_reputation_import_and_verdicts(make_server, tmp_path: Path) -> None:
    import hashlib

    server = make_server()
    bad, good = b"known bad sample bytes", eicar()
    (tmp_path / "bad.txt").write_text(f"# feed\n{hashlib.sha256(bad).hexdigest()}  bad.bin\n")
    (tmp_path / "feed.csv").write_text(
        '# MalwareBazaar style export\n"first_seen_utc","sha256_hash","md5_hash","signature"\n'
        f'"2026-01-01","{"0" * 64}","{hashlib.md5(bad).hexdigest()}","AgentTesla"\n'
    )
    (tmp_path / "good.txt").write_text(hashlib.sha1(good).hexdigest() + "\n")
    from typer.testing import CliRunner

    from scanhive.cli import app

    runner = CliRunner()
    data_dir = ["--data-dir", str(server.data_dir)]
    for known, file in (("bad", "bad.txt"), ("bad", "feed.csv"), ("good", "good.txt")):
        result = runner.invoke(app, ["reputation", "import", "--known", known, *data_dir, str(tmp_path / file)])
        assert result.exit_code == 0, result.output
        assert "imported" in result.output
    with server.client() as client:
        known_bad = wait_done(client, submit(client, bad))
        known_good = wait_done(client, submit(client, good))
        unknown = wait_done(client, submit(client, b"never seen before"))
    assert known_bad["scan_results"]["scan_all_result_i"] == 38
    assert known_bad["reputation_info"]["threat_found"] == "AgentTesla"
    assert known_good["scan_results"]["scan_all_result_i"] == 39
    assert unknown["scan_results"]["scan_all_result_i"] == 0
    assert unknown["reputation_info"]["verdict"] == 40


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_yara_sources_recompile_without_restart(make_server, tmp_path: Path) -> None:
    server = make_server()
    local = tmp_path / "local-rules"
    local.mkdir()
    (local / "marker.yar").write_text('rule Local_Marker { meta: verdict = "malicious" strings: $a = "LOCAL-MARKER" condition: $a }')
    broken = tmp_path / "broken-rules"
    broken.mkdir()
    (broken / "bad.yar").write_text("rule Broken { condition: nonsense( }")
    served = tmp_path / "served"
    served.mkdir()
    (served / "remote.yar").write_text('rule Remote_Marker { strings: $a = "REMOTE-MARKER" condition: $a }')
    http = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(served)))
    threading.Thread(target=http.serve_forever, daemon=True).start()
    remote_url = f"http://127.0.0.1:{http.server_port}/remote.yar"
    sources = {
        "local_sources": [{"source": str(local), "state": "enabled"}, {"source": str(broken), "state": "enabled"}],
        "http_sources": [{"source": remote_url, "state": "enabled"}],
    }
    try:
        with admin_client(server) as client:
            before = wait_done(client, submit(client, b"LOCAL-MARKER REMOTE-MARKER"))
            answer = client.put("/admin/config/yara/sources", json=sources)
            assert answer.status_code == 200 and answer.json() == sources
            assert client.get("/admin/config/yara/sources").json() == sources
            package = client.get("/yara/package").json()
            after = wait_done(client, submit(client, b"LOCAL-MARKER REMOTE-MARKER"))
            eicar_still = wait_done(client, submit(client, eicar()))
            unreachable = {"http_sources": [{"source": "http://127.0.0.1:9/x.yar", "state": "enabled"}]}
            assert client.put("/admin/config/yara/sources", json=unreachable).status_code == 400
    finally:
        http.shutdown()
    assert before["scan_results"]["scan_details"]["YARA"]["scan_result_i"] == 0
    yara = after["scan_results"]["scan_details"]["YARA"]
    assert set(yara["threat_found"].split(", ")) == {"Local_Marker", "Remote_Marker"}
    assert yara["scan_result_i"] == 1
    assert set(after["yara"]["hits"]) == {"Local_Marker", "Remote_Marker"}
    assert package["status"] == "error" and str(broken) in package["issues"]
    assert eicar_still["scan_results"]["scan_details"]["YARA"]["threat_found"] == "EICAR_Test_File"


def test_outdated_data_after_definitions_change(make_server, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    server = make_server({"SCANHIVE_YARA__RULE_DIRS": json.dumps([str(rules)])})
    with server.client() as client:
        data_id = submit(client, b"old definitions")
        assert wait_done(client, data_id)["process_info"]["outdated_data"] == []
        (rules / "new.yar").write_text("rule Newer { condition: false }")
        deadline = time.monotonic() + 10  # engine statuses are cached for ~2 s
        while not (outdated := client.get(f"/file/{data_id}").json()["process_info"]["outdated_data"]):
            assert time.monotonic() < deadline, "the rule change was not noticed"
            time.sleep(0.2)
        assert outdated == ["enginedefinitions"]


def _clamav_result(client: httpx.Client, marker: bytes) -> dict:
    """ClamAV's scan_details entry for a fresh file holding `marker` (fresh, so no result is reused)."""
    report = wait_done(client, submit(client, b"sample " + marker + b" " + os.urandom(8).hex().encode()))
    return report["scan_results"]["scan_details"]["ClamAV"]


def _until_clamav_detects(client: httpx.Client, marker: bytes, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = _clamav_result(client, marker)
        if result["scan_result_i"] == 1:
            return result
        time.sleep(0.3)
    raise AssertionError(f"ClamAV did not load the signature for {marker!r} within {timeout}s")


def test_new_clamav_signatures_load_without_restart_unless_pinned(make_server, tmp_path: Path) -> None:
    signatures = tmp_path / "clamav-db"
    signatures.mkdir()
    server = make_server({"SCANHIVE_CLAMAV__DATABASE_DIR": str(signatures)})
    first, second = b"SCANHIVE-RELOAD-ONE", b"SCANHIVE-RELOAD-TWO"
    with admin_client(server) as client:
        assert _clamav_result(client, first)["scan_result_i"] == 0
        (signatures / "one.ndb").write_text(f"ScanHive.Reload.One:0:*:{first.hex()}\n")
        assert _until_clamav_detects(client, first)["threat_found"] == "ScanHive.Reload.One"

        client.post("/admin/engine/clamav_1_linux/pin")
        (signatures / "two.ndb").write_text(f"ScanHive.Reload.Two:0:*:{second.hex()}\n")
        time.sleep(3)  # the signature watch looks every second: a pinned engine must not have reloaded
        assert _clamav_result(client, second)["scan_result_i"] == 0
        client.post("/admin/engine/clamav_1_linux/unpin")
        assert _until_clamav_detects(client, second)["threat_found"] == "ScanHive.Reload.Two"
        assert _clamav_result(client, first)["scan_result_i"] == 1
