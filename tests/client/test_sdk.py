"""Client and AsyncClient against the FakeCore test peer: results, hashes, batches, dialects, errors, retries."""

from __future__ import annotations

import asyncio
import io
import math
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from scanhive.client import (
    ApiError,
    AsyncClient,
    AuthError,
    Client,
    ConnectionFailed,
    NotFound,
    RateLimited,
    ScanTimeout,
    ServerBusy,
)
from tests.client.fake_core import FAILED_MARKER, FakeCore


def test_scan_clean_file(url: str, files: dict[str, Path]) -> None:
    with Client(url) as client:
        report = client.scan(files["clean"])
    assert report.done
    assert report.scan_all_result_i == 0
    assert report.scan_all_result_a == "No Threat Detected"
    assert report.result == "Allowed"
    assert report.file.display_name == "clean.txt"
    assert report.detected_by == [] and report.threats == []
    assert not report.detected and not report.blocked and not report.failed


def test_scan_infected_file(url: str, files: dict[str, Path]) -> None:
    with Client(url) as client:
        report = client.scan(files["infected"])
    assert report.detected and report.blocked
    assert report.scan_all_result_a == "Infected"
    assert report.detected_by == ["ClamAV"]
    assert report.threats == ["Fake.Malware.Test"]


def test_failed_scan_is_reported_as_failed(url: str) -> None:
    with Client(url) as client:
        report = client.scan(b"x" + FAILED_MARKER)
    assert report.failed and report.scan_all_result_a == "Failed"


def test_wait_polls_until_done(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    core.polls_before_done = 3
    with Client(url) as client:
        submission = client.submit(files["clean"])
        in_progress = client.result(submission.data_id)
        report = client.wait(submission.data_id, timeout=10)
    assert in_progress.result == "Processing" and not in_progress.done
    assert in_progress.scan_all_result_i == 255
    assert report.done and report.data_id == submission.data_id
    assert len(core.seen("GET", f"/file/{submission.data_id}")) == 4


def test_wait_gives_up_after_its_timeout(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    core.polls_before_done = 10_000
    with Client(url) as client:
        data_id = client.submit(files["clean"]).data_id
        started = time.monotonic()
        with pytest.raises(ScanTimeout) as caught:
            client.wait(data_id, timeout=0.5)
    assert time.monotonic() - started < 2
    assert caught.value.last.result == "Processing"
    assert data_id in str(caught.value)


def test_submit_sends_metadefender_headers(core: FakeCore, url: str, tmp_path: Path) -> None:
    path = tmp_path / "résumé 1.pdf"
    path.write_bytes(b"%PDF-1.4")
    with Client(url, "key-1") as client:
        client.submit(path, rule="My Rule", archive_passwords=["fox", "c&w"])
        client.submit(io.BytesIO(b"data"), filename="a/b.bin", archive_passwords=["only"])
    first, second = (upload.headers for upload in core.uploads)
    assert first["filename"] == quote("résumé 1.pdf", safe="")
    assert first["rule"] == "My%20Rule"
    assert (first["archivepwd1"], first["archivepwd2"]) == ("fox", "c%26w")
    assert first["apikey"] == "key-1"
    assert first["content-length"] == "8"
    assert second["filename"] == "a%2Fb.bin" and second["archivepwd"] == "only"


def test_result_of_an_unknown_data_id_raises_not_found(url: str) -> None:
    with Client(url) as client, pytest.raises(NotFound, match="data_id nope not found"):
        client.result("nope")


def test_lookup(url: str, files: dict[str, Path]) -> None:
    with Client(url) as client:
        scanned = client.scan(files["infected"])
        found = client.lookup(scanned.file.sha256)
        missing = client.lookup("0" * 64)
    assert found is not None and found.data_id == scanned.data_id and found.detected
    assert missing is None


def test_lookup_many_chunks_by_1000(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    with Client(url) as client:
        known = client.scan(files["infected"]).file.sha256
        hashes = [f"{n:064x}" for n in range(2500)] + [known]
        results = client.lookup_many(hashes, details=True)
    assert len(core.seen("POST", "/hash")) == math.ceil(len(hashes) / 1000) == 3
    assert [result.hash for result in results] == hashes
    assert sum(result.found for result in results) == 1
    assert results[-1].detected and results[-1].verdict == "Infected" and "scan_details" in results[-1].raw
    assert results[0].verdict == "Not Found" and results[0].total_detected_avs == -1
    assert all(request.headers["includescandetails"] == "1" for request in core.seen("POST", "/hash"))


def test_lookup_many_falls_back_to_single_lookups(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    core.bulk_hash = False
    with Client(url) as client:
        known = client.scan(files["clean"]).file.md5
        results = client.lookup_many(["f" * 32, known, "e" * 32])
    assert len(core.seen("POST", "/hash")) == 1  # probed once, then GET /hash/{hash}
    assert len([r for r in core.requests if r.path.startswith("/hash/")]) == 3
    assert [result.found for result in results] == [False, True, False]
    assert results[1].scan_result_i == 0 and results[1].hash == known


def test_batch_helpers(url: str, files: dict[str, Path]) -> None:
    with Client(url) as client:
        batch_id = client.create_batch(rule="File Scan")
        client.scan(files["clean"], batch=batch_id)
        client.scan(files["infected"], batch=batch_id)
        opened = client.batch_status(batch_id)
        closed = client.close_batch(batch_id)
        final = client.wait_batch(batch_id, timeout=5)
    assert not opened.is_closed and opened.file_count == 2
    assert closed.is_closed and final.done
    assert final.scan_all_result_a == "Infected" and final.result == "Blocked"


def test_download_sanitized_streams_to_disk(url: str, files: dict[str, Path], tmp_path: Path) -> None:
    dest = tmp_path / "out" / "clean.txt"
    dest.parent.mkdir()
    with Client(url) as client:
        report = client.scan(files["clean"])
        saved = client.download_sanitized(report.data_id, dest)
        with pytest.raises(NotFound):
            client.download_sanitized("missing", tmp_path / "missing.bin")
    assert saved == dest
    assert dest.read_bytes() == f"sanitized clean.txt {report.file.sha256}".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.exe", "clean.txt", "out"]  # no .part left behind


def test_engines(url: str) -> None:
    with Client(url) as client:
        engines = client.engines()
    assert [engine.eng_name for engine in engines] == ["ClamAV", "YARA"]
    assert engines[0].state == "production" and engines[0].active


@pytest.mark.parametrize("how", ["url", "dialect"])
def test_cloud_dialect_prefixes_v4_and_sends_the_apikey(
    core: FakeCore, url: str, files: dict[str, Path], how: str
) -> None:
    client = Client(f"{url}/v4", "cloud-key") if how == "url" else Client(url, "cloud-key", dialect="cloud")
    with client:
        report = client.scan(files["infected"])
        client.lookup_many([report.file.sha256])
    assert client.dialect == "cloud"
    assert {request.path for request in core.requests} == {"/v4/file", f"/v4/file/{report.data_id}", "/v4/hash"}
    assert all(request.headers["apikey"] == "cloud-key" for request in core.requests)


def test_cloud_dialect_requires_an_apikey(url: str) -> None:
    with pytest.raises(ValueError, match="apikey"):
        Client(f"{url}/v4")


def test_503_then_200_is_retried(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    core.fail_next(503, times=2)
    with Client(url, backoff=0.01) as client:
        report = client.scan(files["clean"])
    assert report.scan_all_result_i == 0
    assert len(core.seen("POST", "/file")) == 3
    assert len(core.uploads) == 1 and core.uploads[0].size == files["clean"].stat().st_size


def test_503_retries_are_bounded(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    core.fail_next(503, times=10)
    with Client(url, retries=3, backoff=0.01) as client, pytest.raises(ServerBusy) as caught:
        client.submit(files["clean"])
    assert str(caught.value) == "server busy (503), retried 3 times"
    assert caught.value.message == "Server is too busy. Try again later."
    assert len(core.seen("POST", "/file")) == 4


def test_429_waits_for_retry_after(core: FakeCore, url: str, files: dict[str, Path]) -> None:
    core.fail_next(429, headers={"Retry-After": "0.3"})
    started = time.monotonic()
    with Client(url, backoff=0.01) as client:
        client.submit(files["clean"])
    assert time.monotonic() - started >= 0.3
    assert len(core.seen("POST", "/file")) == 2


def test_429_after_every_retry_raises_rate_limited(core: FakeCore, url: str) -> None:
    core.fail_next(429, times=3, headers={"Retry-After": "0"})
    with Client(url, retries=2) as client, pytest.raises(RateLimited) as caught:
        client.engines()
    assert caught.value.retry_after == 0
    assert str(caught.value).startswith("rate limited (429), retried 2 times")


def test_a_stream_that_cannot_rewind_is_not_resent(core: FakeCore, url: str) -> None:
    class Pipe(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:
            buffer[:1] = b"x"
            return 1

    core.fail_next(503)
    with Client(url) as client:
        with pytest.raises(ValueError, match="size"):
            client.submit(Pipe())
        with pytest.raises(ServerBusy, match="retried 0 times"):
            client.submit(Pipe(), size=10)


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors(core: FakeCore, url: str, status: int) -> None:
    core.fail_next(status)
    with Client(url) as client, pytest.raises(AuthError) as caught:
        client.engines()
    assert caught.value.status == status
    assert str(caught.value).startswith(f"authentication failed ({status})")


def test_other_errors_carry_the_server_text(url: str) -> None:
    with Client(url) as client, pytest.raises(ApiError) as caught:
        client.submit(b"")
    assert caught.value.status == 422 and caught.value.message == "Body input is empty."


def test_an_answer_that_is_not_json_is_an_api_error(core: FakeCore, url: str) -> None:
    core.answer_next(200, b"<html>proxy login</html>", {"content-type": "text/html"})
    with Client(url) as client, pytest.raises(ApiError, match="not JSON"):
        client.engines()


def test_unreachable_server_raises_connection_failed(dead_url: str) -> None:
    with Client(dead_url) as client, pytest.raises(ConnectionFailed, match="cannot reach"):
        client.engines()


def test_async_client(core: FakeCore, url: str, files: dict[str, Path], tmp_path: Path) -> None:
    core.fail_next(503)

    async def main() -> None:
        async with AsyncClient(url, backoff=0.01) as client:
            reports = await asyncio.gather(client.scan(files["clean"]), client.scan(files["infected"]))
            assert [report.scan_all_result_a for report in reports] == ["No Threat Detected", "Infected"]
            found = await client.lookup_many([reports[1].file.sha1])
            assert found[0].detected
            assert await client.lookup("a" * 40) is None
            batch_id = await client.create_batch()
            await client.scan(io.BytesIO(b"in a batch"), filename="b.txt", batch=batch_id)
            assert (await client.close_batch(batch_id)).file_count == 1
            await client.download_sanitized(reports[0].data_id, tmp_path / "s.txt")
            assert [engine.eng_id for engine in await client.engines()] == ["clamav_1_linux", "yara_1_linux"]
            with pytest.raises(NotFound):
                await client.result("missing")

    asyncio.run(main())
    assert (tmp_path / "s.txt").read_bytes().startswith(b"sanitized clean.txt")
    assert len(core.seen("POST", "/file")) == 4  # one 503 retried


def test_async_client_network_failure(dead_url: str) -> None:
    async def main() -> None:
        async with AsyncClient(dead_url) as client:
            await client.engines()

    with pytest.raises(ConnectionFailed):
        asyncio.run(main())
