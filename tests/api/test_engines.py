"""Engine availability as users see it: missing or crashing clamd, and large-file ingest."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.server import eicar, submit, wait_done


def _clamd_pid(server_pid: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if name == "clamd" and ppid == server_pid:
                return int(entry.name)
    raise AssertionError("no clamd child found")


def test_missing_clamd_is_reported_and_other_engines_still_run(make_server) -> None:
    no_clamd = make_server({"SCANHIVE_CLAMAV__CLAMD_PATH": "/nonexistent/clamd"})
    with no_clamd.client() as client:
        engines = {e["eng_id"]: e for e in client.get("/stat/engines").json()}
        report = wait_done(client, submit(client, eicar()))
    clamav = engines["clamav_1_linux"]
    assert clamav["state"] == "permanently failed" and clamav["active"] is False
    assert "clamd not found" in clamav["reason"]
    assert engines["yara_1_linux"]["state"] == "production"
    assert "ClamAV" not in report["scan_results"]["scan_details"]
    assert report["scan_results"]["scan_details"]["YARA"]["scan_result_i"] == 1
    assert report["scan_results"]["scan_all_result_i"] == 1


def test_clamd_crash_is_survived(make_server) -> None:
    server = make_server()
    assert server.process is not None
    os.kill(_clamd_pid(server.process.pid), signal.SIGKILL)
    with server.client() as client:
        during = wait_done(client, submit(client, eicar()))
        # YARA still detects; ClamAV either failed (restarting) or already back
        assert during["scan_results"]["scan_all_result_i"] == 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            report = wait_done(client, submit(client, eicar()))
            if report["scan_results"]["scan_details"].get("ClamAV", {}).get("scan_result_i") == 1:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("ClamAV did not come back after clamd was killed")


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def test_one_gib_upload_streams_with_small_memory_growth(server) -> None:
    assert server.process is not None
    pid = server.process.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak-RSS counter (VmHWM)
    before = _memory_kib(pid, "VmRSS")
    block = os.urandom(1024 * 1024)
    size = 1024 * len(block)

    def body() -> Iterator[bytes]:
        for _ in range(1024):
            yield block

    with httpx.Client(base_url=server.url, timeout=600) as client:
        answer = client.post("/file", content=body(), headers={"content-length": str(size), "filename": "big.bin"})
        assert answer.status_code == 200, answer.text
        growth_mib = (_memory_kib(pid, "VmHWM") - before) / 1024
        report = wait_done(client, answer.json()["data_id"], timeout=300)
    assert report["file_info"]["file_size"] == size
    assert growth_mib < 100, f"server memory grew {growth_mib:.0f} MiB during a 1 GiB upload"


PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


def test_third_party_engine_crash_and_hang_cost_only_its_result(make_server, tmp_path) -> None:
    config = tmp_path / "faulty.toml"
    config.write_text('[[rules]]\nname = "File Scan"\nengine_timeout = 2\n')
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")])),
           "SCANHIVE_CONFIG": str(config)}
    server = make_server(env, workers=1)
    with server.client() as client:
        engines = {e["eng_id"]: e for e in client.get("/stat/engines").json()}
        assert engines["faulty_1_linux"]["state"] == "production"
        detected = wait_done(client, submit(client, b"FAULTY-DETECT sample"))
        crashed = wait_done(client, submit(client, b"CRASH-NOW please"))
        hung = wait_done(client, submit(client, b"HANG-NOW please"))
        after = wait_done(client, submit(client, eicar()))
    assert detected["scan_results"]["scan_details"]["Faulty"]["threat_found"] == "Faulty.Test"
    assert detected["scan_results"]["scan_all_result_i"] == 1
    for report, reason in ((crashed, "SIGSEGV"), (hung, "timed out")):
        faulty = report["scan_results"]["scan_details"]["Faulty"]
        assert faulty["scan_result_i"] == 3 and reason in faulty["threat_found"]
        assert report["scan_results"]["scan_details"]["ClamAV"]["scan_result_i"] == 0
        assert report["scan_results"]["scan_all_result_i"] == 3
    assert after["scan_results"]["scan_details"]["Faulty"]["scan_result_i"] == 0
    assert after["scan_results"]["scan_all_result_i"] == 1
