"""The SDK and the `scanhive` client commands against a real ScanHive server (issue 5).

tests/client/test_sdk.py and test_cli.py pin the client's behaviour against a stand-in; these run
the same code against `scanhive serve` processes started by the suite: the shared default server,
and servers configured for the error cases (mandatory apikey, a full queue, an idle queue).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from scanhive.client import ApiError, AsyncClient, AuthError, Client, NotFound, ScanReport, ServerBusy
from tests.client.conftest import run_cli
from tests.server import ScanHiveServer, eicar

REPO = Path(__file__).resolve().parents[2]
#: The engines the default server runs that know EICAR.
EICAR_ENGINES = {"ClamAV", "YARA"}
#: Servers for the error cases need no ClamAV: leaving it out makes them start in half the time.
NO_CLAMAV = {"SCANHIVE_CLAMAV__ENABLED": "false"}


def clean_bytes(tag: str) -> bytes:
    """Harmless text no other test uploads, so its hashes lead to this test's data_id only."""
    return f"ScanHive client test {tag} {uuid.uuid4().hex}\n".encode()


def assert_clean(report: ScanReport) -> None:
    assert report.done and not report.detected and not report.failed and not report.blocked
    assert (report.scan_all_result_i, report.scan_all_result_a, report.result) == (0, "No Threat Detected", "Allowed")
    assert report.detected_by == [] and report.threats == []


def assert_eicar(report: ScanReport) -> None:
    assert report.done and report.detected and report.blocked
    assert (report.scan_all_result_i, report.scan_all_result_a, report.result) == (1, "Infected", "Blocked")
    assert EICAR_ENGINES <= set(report.detected_by)
    names = {engine.engine: engine.threat_found for engine in report.engines}
    assert all("eicar" in names[engine].lower() for engine in EICAR_ENGINES), names
    assert {names[engine] for engine in EICAR_ENGINES} <= set(report.threats)
    assert report.file.sha256 == hashlib.sha256(eicar()).hexdigest()


# --------------------------------------------------------------------------- SDK


def test_client_scans_clean_and_infected_files(server: ScanHiveServer, tmp_path: Path) -> None:
    clean = tmp_path / "notes.txt"
    clean.write_bytes(clean_bytes("clean"))
    infected = tmp_path / "eicar.com"
    infected.write_bytes(eicar())
    with Client(server.url) as client:
        report = client.scan(clean)
        assert_clean(report)
        assert report.file.display_name == "notes.txt" and report.file.file_size == clean.stat().st_size
        assert report.file.sha256 == hashlib.sha256(clean.read_bytes()).hexdigest()
        assert {engine.engine for engine in report.engines} >= EICAR_ENGINES

        with infected.open("rb") as stream:  # a file object is streamed too
            bad = client.scan(stream, filename="renamed.com")
        assert_eicar(bad)
        assert bad.file.display_name == "renamed.com" and bad.data_id != report.data_id

        assert client.result(bad.data_id) == bad
        assert client.wait(report.data_id, timeout=5) == report
        assert client.lookup(report.file.sha1).data_id == report.data_id
        assert client.lookup(hashlib.sha256(b"never uploaded " + uuid.uuid4().bytes).hexdigest()) is None
        with pytest.raises(NotFound):
            client.result(uuid.uuid4().hex)


def test_async_client_scans_concurrently(server: ScanHiveServer, tmp_path: Path) -> None:
    clean = tmp_path / "clean.txt"
    clean.write_bytes(clean_bytes("async"))

    async def main() -> tuple[ScanReport, ScanReport, ScanReport]:
        async with AsyncClient(server.url) as client:
            good, bad = await asyncio.gather(client.scan(clean), client.scan(eicar(), filename="eicar.com"))
            return good, bad, await client.result(bad.data_id)

    good, bad, again = asyncio.run(main())
    assert_clean(good)
    assert_eicar(bad)
    assert bad.file.display_name == "eicar.com" and again == bad


def test_lookup_many_beyond_the_bulk_limit(server: ScanHiveServer) -> None:
    with Client(server.url) as client:
        first, second, bad = client.scan(clean_bytes("one")), client.scan(clean_bytes("two")), client.scan(eicar())
        unknown = [os.urandom(32).hex() for _ in range(1200)]
        known = {first.file.sha256: first, second.file.md5: second, bad.file.sha1: bad}
        hashes = list(unknown)
        for position, hash_ in zip((0, 999, 1100), known):  # in the first chunk, at its edge and in the second
            hashes.insert(position, hash_)

        results = client.lookup_many(hashes)
        detailed = client.lookup_many(list(known), details=True)

    assert [result.hash for result in results] == hashes
    by_hash = {result.hash: result for result in results}
    for hash_, report in known.items():
        entry = by_hash[hash_]
        assert entry.found and (entry.data_id, entry.scan_result_i) == (report.data_id, report.scan_all_result_i)
    assert by_hash[bad.file.sha1].detected and by_hash[bad.file.sha1].total_detected_avs >= len(EICAR_ENGINES)
    assert not by_hash[first.file.sha256].detected and by_hash[first.file.sha256].verdict == "No Threat Detected"
    misses = [by_hash[hash_] for hash_ in unknown]
    assert all(not miss.found and miss.data_id is None and miss.verdict == "Not Found" for miss in misses)
    assert [entry.data_id for entry in detailed] == [report.data_id for report in known.values()]
    assert all(set(entry.raw["scan_details"]) >= EICAR_ENGINES for entry in detailed)


def test_batch_helpers(server: ScanHiveServer, tmp_path: Path) -> None:
    clean = tmp_path / "clean.txt"
    clean.write_bytes(clean_bytes("batch"))
    with Client(server.url) as client:
        batch_id = client.create_batch(user_data="nightly run 42")
        submitted = {client.submit(clean, batch=batch_id).data_id, client.submit(eicar(), batch=batch_id).data_id}
        assert not client.batch_status(batch_id).is_closed
        closed = client.close_batch(batch_id)
        assert closed.is_closed and closed.batch_id == batch_id
        with pytest.raises(ApiError) as refused:
            client.submit(clean, batch=batch_id)
        assert refused.value.status == 400

        finished = client.wait_batch(batch_id, timeout=60)
        assert finished.done and finished.file_count == 2
        assert (finished.scan_all_result_i, finished.scan_all_result_a, finished.result) == (1, "Infected", "Blocked")
        assert finished.raw["user_data"] == "nightly run 42"
        assert {item["data_id"] for item in finished.raw["batch_files"]["files_in_batch"]} == submitted
        assert client.batch_status(batch_id) == finished

        clean_batch = client.create_batch()
        report = client.scan(clean, batch=clean_batch)
        assert_clean(report)
        client.close_batch(clean_batch)
        all_clean = client.wait_batch(clean_batch, timeout=60)
        assert (all_clean.scan_all_result_i, all_clean.result, all_clean.file_count) == (0, "Allowed", 1)


# --------------------------------------------------------------------------- command line


@dataclass
class Tree:
    root: Path
    infected: Path
    clean: list[Path]


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    """A folder with clean files at several depths and an EICAR file deep down."""
    root = tmp_path / "tree"
    clean = [root / "top.txt", root / "docs" / "readme.md", root / "docs" / "deep" / "er" / "data.bin"]
    infected = root / "docs" / "deep" / "eicar.com"
    for path in clean:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(clean_bytes(path.name))
    infected.write_bytes(eicar())
    return Tree(root, infected, clean)


def test_cli_scan_folder_with_an_infected_file(server: ScanHiveServer, tree: Tree) -> None:
    """The real entry point, `python -m scanhive`: exit code 1 and JSON naming the infected file."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SCANHIVE_")}
    command = [sys.executable, "-m", "scanhive", "scan", str(tree.root), "--json", "--concurrency", "2",
               "--url", server.url]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""
    results = {Path(item["file"]): item for item in json.loads(done.stdout)}
    assert set(results) == {tree.infected, *tree.clean}
    bad = results[tree.infected]
    assert (bad["status"], bad["verdict"], bad["scan_all_result_i"]) == ("infected", "Infected", 1)
    assert bad["result"] == "Blocked"
    assert EICAR_ENGINES <= set(bad["detected_by"]) and bad["threats"]
    assert bad["report"]["data_id"] == bad["data_id"] and bad["report"]["file_info"]["display_name"] == "eicar.com"
    for path in tree.clean:
        item = results[path]
        assert (item["status"], item["verdict"], item["detected_by"]) == ("clean", "No Threat Detected", [])
        assert item["error"] is None
        assert item["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_scan_clean_folder_exits_0(server: ScanHiveServer, tree: Tree) -> None:
    tree.infected.unlink()
    outcome = run_cli("scan", str(tree.root), "--url", server.url)
    assert outcome.exit_code == 0, outcome.output
    for path in tree.clean:
        row = next(line for line in outcome.stdout.splitlines() if path.name in line)
        assert "No Threat Detected (Allowed)" in row


def test_cli_scan_jsonl_and_globs(server: ScanHiveServer, tree: Tree) -> None:
    outcome = run_cli("scan", str(tree.root), "--jsonl", "--exclude", "*.md", "--url", server.url)
    assert outcome.exit_code == 1, outcome.output
    lines = [json.loads(line) for line in outcome.stdout.splitlines()]
    assert {Path(line["file"]) for line in lines} == {tree.infected, *tree.clean} - {tree.root / "docs" / "readme.md"}
    assert {Path(line["file"]): line["status"] for line in lines}[tree.infected] == "infected"
    assert sorted(line["status"] for line in lines) == ["clean", "clean", "infected"]

    only_clean = run_cli("scan", str(tree.root), "--jsonl", "--include", "*.txt", "--url", server.url)
    assert only_clean.exit_code == 0
    [line] = [json.loads(line) for line in only_clean.stdout.splitlines()]
    assert Path(line["file"]) == tree.root / "top.txt" and line["status"] == "clean"


def test_cli_scan_batch(server: ScanHiveServer, tree: Tree) -> None:
    outcome = run_cli("scan", str(tree.root), "--batch", "--json", "--url", server.url)
    assert outcome.exit_code == 1
    assert outcome.stderr.startswith("batch ") and "Infected (Blocked), 4 files, closed" in outcome.stderr
    batch_id = outcome.stderr.split()[1].rstrip(":")
    with Client(server.url) as client:
        status = client.batch_status(batch_id)
    in_batch = {item["data_id"] for item in status.raw["batch_files"]["files_in_batch"]}
    assert in_batch == {item["data_id"] for item in json.loads(outcome.stdout)}


def test_cli_hash_file_list(server: ScanHiveServer, tmp_path: Path) -> None:
    with Client(server.url) as client:
        good, bad = client.scan(clean_bytes("listed")), client.scan(eicar())
    unknown = [os.urandom(32).hex() for _ in range(1200)]
    listing = tmp_path / "hashes.txt"
    listing.write_text("# known first\n" + f"{good.file.md5}\n{bad.file.sha256}\n\n" + "\n".join(unknown) + "\n")

    outcome = run_cli("hash", "--file", str(listing), "--json", "--url", server.url)
    assert outcome.exit_code == 1, outcome.output  # EICAR is known and infected
    results = json.loads(outcome.stdout)
    assert [item["hash"] for item in results] == [good.file.md5, bad.file.sha256, *unknown]
    assert (results[0]["data_id"], results[0]["verdict"]) == (good.data_id, "No Threat Detected")
    assert (results[1]["data_id"], results[1]["verdict"], results[1]["scan_result_i"]) == (bad.data_id, "Infected", 1)
    assert all(item["verdict"] == "Not Found" and item["data_id"] is None for item in results[2:])

    clean_list = tmp_path / "clean.txt"
    clean_list.write_text(f"{good.file.sha1}\n{unknown[0]}\n")
    lines = run_cli("hash", "--file", str(clean_list), "--jsonl", "--details", "--url", server.url)
    assert lines.exit_code == 0, lines.output
    first, second = (json.loads(line) for line in lines.stdout.splitlines())
    assert first["data_id"] == good.data_id and EICAR_ENGINES <= set(first["scan_details"])
    assert second["scan_result_i"] == 5


def test_cli_engines(server: ScanHiveServer, api: httpx.Client) -> None:
    table = run_cli("engines", "--url", server.url)
    assert table.exit_code == 0, table.output
    for eng_id in ("clamav_1_linux", "yara_1_linux"):
        row = next(line for line in table.stdout.splitlines() if eng_id in line)
        assert "production" in row
    raw = run_cli("engines", "--json", "--url", server.url)
    assert raw.exit_code == 0
    assert json.loads(raw.stdout) == api.get("/stat/engines").json()


def test_cli_result(server: ScanHiveServer) -> None:
    with Client(server.url) as client:
        good, bad = client.scan(clean_bytes("result"), filename="fine.txt"), client.scan(eicar(), filename="bad.com")
    table = run_cli("result", bad.data_id, "--url", server.url)
    assert table.exit_code == 1, table.output
    assert "bad.com: Infected (Blocked)" in table.stdout
    for engine in EICAR_ENGINES:
        row = next(line for line in table.stdout.splitlines() if f" {engine} " in line)
        assert "Infected" in row
    raw = run_cli("result", bad.data_id, "--json", "--url", server.url)
    assert raw.exit_code == 1 and json.loads(raw.stdout) == bad.raw

    fine = run_cli("result", good.data_id, "--url", server.url)
    assert fine.exit_code == 0 and "fine.txt: No Threat Detected (Allowed)" in fine.stdout
    unknown = uuid.uuid4().hex
    missing = run_cli("result", unknown, "--url", server.url)
    assert missing.exit_code == 2 and missing.stderr == f"error: data_id {unknown} not found\n"


# --------------------------------------------------------------------------- errors and retries


def test_wrong_apikey_exits_4(make_server: Callable[..., ScanHiveServer], tmp_path: Path) -> None:
    locked = make_server(env={**NO_CLAMAV, "SCANHIVE_REQUIRE_APIKEY": "true", "SCANHIVE_APIKEYS": '["k1"]'})
    clean = tmp_path / "clean.txt"
    clean.write_bytes(clean_bytes("auth"))

    wrong = run_cli("scan", str(clean), "--url", locked.url, "--apikey", "wrong")
    assert wrong.exit_code == 4
    assert wrong.stderr == "error: authentication failed (403): Access denied\n"
    assert run_cli("scan", str(clean), "--url", locked.url).exit_code == 4
    assert run_cli("hash", "a" * 64, env={"SCANHIVE_URL": locked.url, "SCANHIVE_APIKEY": "wrong"}).exit_code == 4
    assert run_cli("engines", "--url", locked.url, "--apikey", "wrong").exit_code == 4

    right = run_cli("scan", str(clean), "--json", "--url", locked.url, "--apikey", "k1")
    assert right.exit_code == 0, right.output
    assert json.loads(right.stdout)[0]["status"] == "clean"
    with Client(locked.url, "wrong") as client, pytest.raises(AuthError) as refused:
        client.submit(clean)
    assert refused.value.status == 403


def test_busy_server_exits_5_after_retries(make_server: Callable[..., ScanHiveServer], tmp_path: Path) -> None:
    busy = make_server(env={**NO_CLAMAV, "SCANHIVE_MAX_QUEUE": "0"})
    clean = tmp_path / "clean.txt"
    clean.write_bytes(clean_bytes("busy"))

    started = time.monotonic()
    outcome = run_cli("scan", str(clean), "--retries", "2", "--url", busy.url)
    assert outcome.exit_code == 5
    assert outcome.stderr == "error: server busy (503), retried 2 times\n"
    assert time.monotonic() - started >= 0.7  # two pauses of the backoff: 0.25-0.5 s, then 0.5-1 s

    big = tmp_path / "big.bin"  # a body the server refuses before reading it
    big.write_bytes(os.urandom(8 * 1024 * 1024))
    with Client(busy.url, retries=1, backoff=0.01) as client, pytest.raises(ServerBusy) as caught:
        client.scan(big)
    assert caught.value.retries == 1 and caught.value.message == "Server is too busy. Try again later."


def test_503_then_200_is_retried(make_server: Callable[..., ScanHiveServer], tmp_path: Path) -> None:
    """A queue of one with no worker: busy until the test cancels the queued file, then accepting."""
    idle = make_server(env={**NO_CLAMAV, "SCANHIVE_MAX_QUEUE": "1"}, workers=0, wait_ready=False)
    clean = tmp_path / "clean.txt"
    clean.write_bytes(clean_bytes("retry"))

    with idle.client() as api:
        with Client(idle.url) as client:
            waiting = client.submit(clean).data_id
        assert api.post("/file", content=b"x", headers={"filename": "x"}).status_code == 503

        with cancelled_after(api, waiting, 1.0):
            outcome = run_cli("scan", str(clean), "--no-wait", "--json", "--retries", "8", "--url", idle.url)
        assert outcome.exit_code == 0, outcome.output
        [item] = json.loads(outcome.stdout)
        assert item["status"] == "submitted"
        accepted = item["data_id"]
        assert api.get(f"/file/{accepted}").json()["data_id"] == accepted
        assert api.get(f"/file/{waiting}").json()["scan_results"]["scan_all_result_i"] == 19  # cancelled

        started = time.monotonic()
        with cancelled_after(api, accepted, 1.0), Client(idle.url, retries=8, backoff=0.2) as client:
            third = client.submit(clean).data_id
        assert time.monotonic() - started >= 1.0 and third not in (waiting, accepted)


@pytest.fixture(autouse=True)
def _no_client_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK and CLI read no SCANHIVE_URL/APIKEY from the machine running the tests."""
    monkeypatch.delenv("SCANHIVE_URL", raising=False)
    monkeypatch.delenv("SCANHIVE_APIKEY", raising=False)


@contextmanager
def cancelled_after(api: httpx.Client, data_id: str, delay: float) -> Iterator[None]:
    """Cancel a queued data_id `delay` seconds into the block; leaving it waits for the cancellation."""
    answers: list[httpx.Response] = []
    timer = threading.Timer(delay, lambda: answers.append(api.post(f"/file/{data_id}/cancel")))
    timer.start()
    try:
        yield
    finally:
        timer.join()
    assert [answer.status_code for answer in answers] == [200]
