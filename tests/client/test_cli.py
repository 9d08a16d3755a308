"""The `scanhive` client commands against the FakeCore test peer: output formats and exit codes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from scanhive.client import cli
from tests.client.conftest import run_cli
from tests.client.fake_core import FAILED_MARKER, INFECTED_MARKER, FakeCore


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Nested files: two clean, one infected, plus files the globs of the tests leave out."""
    root = tmp_path / "tree"
    contents = {
        "top.exe": b"clean program",
        "docs/readme.txt": b"just text",
        "docs/deep/er/tool.exe": b"MZ" + INFECTED_MARKER,
        "docs/deep/er/data.exe": b"more clean bytes",
        "cache/skip.exe": b"MZ" + INFECTED_MARKER,
        "notes.md": b"# notes",
    }
    for name, data in contents.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_clean_file_exits_0_with_a_table(url: str, files: dict[str, Path]) -> None:
    outcome = run_cli("scan", str(files["clean"]), "--url", url)
    assert outcome.exit_code == 0, outcome.output
    assert "clean.txt" in outcome.stdout and "No Threat Detected (Allowed)" in outcome.stdout
    assert outcome.stderr == ""  # no progress bar when stdout is not a terminal


def test_infected_file_exits_1_naming_engine_and_threat(url: str, files: dict[str, Path]) -> None:
    outcome = run_cli("scan", str(files["infected"]), str(files["clean"]), "--url", url)
    assert outcome.exit_code == 1
    row = next(line for line in outcome.stdout.splitlines() if "bad.exe" in line)
    assert "Infected (Blocked)" in row and "ClamAV" in row and "Fake.Malware.Test" in row


def test_folder_with_globs_as_json(url: str, folder: Path) -> None:
    outcome = run_cli("scan", str(folder), "--include", "*.exe", "--exclude", "cache", "--json", "--url", url)
    assert outcome.exit_code == 1
    results = json.loads(outcome.stdout)
    assert [Path(item["file"]).relative_to(folder).as_posix() for item in results] == [
        "top.exe", "docs/deep/er/data.exe", "docs/deep/er/tool.exe",
    ]
    assert [item["status"] for item in results] == ["clean", "clean", "infected"]
    infected = results[2]
    assert infected["verdict"] == "Infected" and infected["scan_all_result_i"] == 1
    assert infected["detected_by"] == ["ClamAV"] and infected["threats"] == ["Fake.Malware.Test"]
    assert infected["report"]["data_id"] == infected["data_id"] and infected["error"] is None


def test_folder_as_json_lines(core: FakeCore, url: str, folder: Path) -> None:
    outcome = run_cli("scan", str(folder), "--jsonl", "--concurrency", "2", "--url", url)
    lines = [json.loads(line) for line in outcome.stdout.splitlines()]
    assert len(lines) == 6 == len(core.uploads)
    assert sorted(Path(line["file"]).name for line in lines) == [
        "data.exe", "notes.md", "readme.txt", "skip.exe", "tool.exe", "top.exe",
    ]
    assert outcome.exit_code == 1


def test_failed_scan_exits_2(url: str, tmp_path: Path, files: dict[str, Path]) -> None:
    broken = tmp_path / "broken.bin"
    broken.write_bytes(FAILED_MARKER)
    assert run_cli("scan", str(broken), str(files["clean"]), "--url", url).exit_code == 2
    assert run_cli("scan", str(broken), str(files["infected"]), "--url", url).exit_code == 1  # threats win


def test_timeout_exits_2(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    core.polls_before_done = 10_000
    outcome = run_cli("scan", str(files["clean"]), "--timeout", "0.3", "--json", "--url", url)
    assert outcome.exit_code == 2
    [item] = json.loads(outcome.stdout)
    assert item["status"] == "failed" and "no final result" in item["error"]


def test_empty_files_are_skipped(core: FakeCore, url: str, tmp_path: Path) -> None:
    (tmp_path / "empty").touch()
    outcome = run_cli("scan", str(tmp_path / "empty"), "--json", "--url", url)
    assert outcome.exit_code == 0 and not core.uploads
    assert json.loads(outcome.stdout)[0]["status"] == "skipped"


@pytest.mark.parametrize(
    "args",
    [
        ["scan"],
        ["scan", "/no/such/path"],
        ["scan", ".", "--json", "--jsonl"],
        ["scan", ".", "--concurrency", "0"],
        ["scan", ".", "--no-such-option"],
        ["hash"],
        ["hash", "--file", "/no/such/list"],
        ["result"],
        ["engines", "--url", "https://api.example.com/v4"],
    ],
)
def test_usage_errors_exit_3(args: list[str]) -> None:
    assert run_cli(*args).exit_code == 3


def test_authentication_error_exits_4(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    core.apikey = "secret"
    refused = run_cli("scan", str(files["clean"]), "--url", url)
    assert refused.exit_code == 4
    assert refused.stderr == "error: authentication failed (401): Invalid apikey\n"
    assert run_cli("scan", str(files["clean"]), "--url", url, "--apikey", "secret").exit_code == 0
    assert run_cli("scan", str(files["clean"]), env={"SCANHIVE_URL": url, "SCANHIVE_APIKEY": "secret"}).exit_code == 0


def test_busy_server_exits_5_after_retries(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    core.fail_next(503, times=100)
    outcome = run_cli("scan", str(files["clean"]), "--retries", "2", "--url", url)
    assert outcome.exit_code == 5
    assert outcome.stderr == "error: server busy (503), retried 2 times\n"
    assert len(core.seen("POST", "/file")) == 3


def test_rate_limited_exits_5(core: FakeCore, url: str) -> None:
    core.fail_next(429, times=100, headers={"Retry-After": "0"})
    outcome = run_cli("engines", "--retries", "1", "--url", url)
    assert outcome.exit_code == 5
    assert outcome.stderr.startswith("error: rate limited (429), retried 1 time;")


def test_503_then_200_succeeds(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    core.fail_next(503, times=2)
    assert run_cli("scan", str(files["clean"]), "--url", url).exit_code == 0
    assert len(core.seen("POST", "/file")) == 3


def test_unreachable_server_exits_6(dead_url: str, files: dict[str, Path]) -> None:
    outcome = run_cli("scan", str(files["clean"]), "--url", dead_url)
    assert outcome.exit_code == 6
    assert outcome.stderr.startswith(f"error: cannot reach {dead_url}")
    assert run_cli("hash", "a" * 32, "--url", dead_url).exit_code == 6


def test_batch_prints_its_summary(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    outcome = run_cli("scan", str(files["clean"]), str(files["infected"]), "--batch", "--url", url)
    assert outcome.exit_code == 1
    [batch_id] = core.batches
    assert core.batches[batch_id] is True  # closed
    assert all(upload.headers["batch"] == batch_id for upload in core.uploads)
    assert f"batch {batch_id}: Infected (Blocked), 2 files, closed" in outcome.stdout
    as_json = run_cli("scan", str(files["clean"]), "--batch", "--json", "--url", url)
    assert json.loads(as_json.stdout)[0]["status"] == "clean"
    assert as_json.stderr.startswith("batch ")


def test_no_wait_prints_data_ids(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    outcome = run_cli("scan", str(files["clean"]), str(files["infected"]), "--no-wait", "--json", "--url", url)
    assert outcome.exit_code == 0
    items = json.loads(outcome.stdout)
    assert [item["status"] for item in items] == ["submitted", "submitted"]
    assert {item["data_id"] for item in items} == set(core.jobs)
    assert not [request for request in core.requests if request.method == "GET"]
    table = run_cli("scan", str(files["clean"]), "--no-wait", "--url", url)
    assert table.exit_code == 0 and f"{len(core.jobs) - 1:032x}" in table.stdout


def test_rule_and_archive_passwords_are_sent(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    run_cli("scan", str(files["clean"]), "--rule", "Strict rule", "--archive-password", "a",
            "--archive-password", "b", "--url", url)
    headers = core.uploads[0].headers
    assert (headers["rule"], headers["archivepwd1"], headers["archivepwd2"]) == ("Strict%20rule", "a", "b")


def test_hash_lookups_in_chunks_of_1000(core: FakeCore, url: str, files: dict[str, Path], tmp_path: Path) -> None:
    run_cli("scan", str(files["infected"]), "--url", url)
    known = next(iter(core.jobs.values())).sha256
    hashes = [f"{n:064x}" for n in range(2100)] + [known]
    listing = tmp_path / "hashes.txt"
    listing.write_text("# one hash per line\n\n" + "\n".join(hashes) + "\n")
    outcome = run_cli("hash", "--file", str(listing), "--json", "--url", url)
    assert len(core.seen("POST", "/hash")) == math.ceil(len(hashes) / 1000) == 3
    results = json.loads(outcome.stdout)
    assert [item["hash"] for item in results] == hashes
    assert results[-1]["verdict"] == "Infected" and results[0]["verdict"] == "Not Found"
    assert outcome.exit_code == 1


def test_hash_arguments_and_formats(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    run_cli("scan", str(files["clean"]), "--url", url)
    known = next(iter(core.jobs.values())).md5
    lines = run_cli("hash", known, "b" * 32, "--jsonl", "--details", "--url", url)
    assert lines.exit_code == 0
    first, second = (json.loads(line) for line in lines.stdout.splitlines())
    assert first["verdict"] == "No Threat Detected" and "scan_details" in first and second["scan_result_i"] == 5
    table = run_cli("hash", known, "--url", url)
    assert "No Threat Detected" in table.stdout and table.exit_code == 0
    piped = run_cli("hash", "--file", "-", "--jsonl", "--url", url, stdin=f"{known}\n\n# comment\n{'c' * 32}\n")
    assert [json.loads(line)["hash"] for line in piped.stdout.splitlines()] == [known, "c" * 32]


def test_result_command(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    run_cli("scan", str(files["infected"]), "--url", url)
    [data_id] = core.jobs
    table = run_cli("result", data_id, "--url", url)
    assert table.exit_code == 1
    assert "bad.exe: Infected (Blocked)" in table.stdout and "Fake.Malware.Test" in table.stdout
    raw = run_cli("result", data_id, "--json", "--url", url)
    assert json.loads(raw.stdout)["scan_results"]["scan_all_result_i"] == 1
    missing = run_cli("result", "nope", "--url", url)
    assert missing.exit_code == 2 and missing.stderr == "error: data_id nope not found\n"


def test_download_command(
    core: FakeCore, url: str, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli("scan", str(files["clean"]), "--url", url)
    [data_id] = core.jobs
    target = tmp_path / "out.txt"
    outcome = run_cli("download", data_id, "-o", str(target), "--url", url)
    assert outcome.exit_code == 0 and outcome.stdout.startswith(f"saved {target}")
    assert target.read_bytes().startswith(b"sanitized clean.txt")
    monkeypatch.chdir(tmp_path)
    assert run_cli("download", data_id, "--url", url).exit_code == 0
    assert (tmp_path / "sanitized_clean.txt").exists()
    (tmp_path / "into").mkdir()
    assert run_cli("download", data_id, "-o", str(tmp_path / "into"), "--url", url).exit_code == 0
    assert (tmp_path / "into" / "sanitized_clean.txt").exists()
    assert run_cli("download", "nope", "--url", url).exit_code == 2


def test_engines_command(url: str) -> None:
    table = run_cli("engines", "--url", url)
    assert table.exit_code == 0 and "clamav_1_linux" in table.stdout and "production" in table.stdout
    raw = run_cli("engines", "--json", "--url", url)
    assert [engine["eng_name"] for engine in json.loads(raw.stdout)] == ["ClamAV", "YARA"]


def test_cloud_url_uses_v4_paths(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    outcome = run_cli("scan", str(files["clean"]), "--url", f"{url}/v4", "--apikey", "k")
    assert outcome.exit_code == 0
    assert all(request.path.startswith("/v4/") for request in core.requests)


@pytest.mark.parametrize("command", ["scan", "hash", "result", "download", "engines"])
def test_exit_codes_are_documented_in_help_and_docstring(command: str) -> None:
    help_text = run_cli(command, "--help").stdout
    for code, meaning in cli.EXIT_CODE_MEANINGS.items():
        assert f"{int(code)}  {meaning}" in help_text
        assert f"{int(code)}  {meaning}" in cli.__doc__
