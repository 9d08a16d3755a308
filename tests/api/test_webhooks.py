"""callbackurl: the full report is POSTed when analysis ends, with retries; GET /file/webhook/{id}."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.server import eicar, submit


class Receiver:
    """An HTTP endpoint that records POSTed bodies and answers the given statuses in turn."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(json.loads(body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/listenback"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.bodies) >= count, f"received {len(self.bodies)} callbacks, expected {count}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver([])
    yield instance
    instance.http.shutdown()


def test_callback_receives_full_report(api: httpx.Client, receiver: Receiver) -> None:
    data_id = submit(api, eicar(), callbackurl=receiver.url)
    receiver.wait_for(1)
    report = receiver.bodies[0]
    assert report["data_id"] == data_id
    assert report["scan_results"]["scan_all_result_i"] == 1
    assert report["scan_results"]["progress_percentage"] == 100
    deadline = time.monotonic() + 10
    status = api.get(f"/file/webhook/{data_id}").json()
    while status["status_code"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        status = api.get(f"/file/webhook/{data_id}").json()
    assert status["data_id"] == data_id
    assert status["url"] == receiver.url
    assert status["status_code"] == 200
    assert status["request_time"].endswith("Z")


def test_callback_is_retried_until_accepted(make_server, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    fast = make_server({"SCANHIVE_WEBHOOK_RETRY_DELAY": "0.1"})
    with fast.client() as client:
        data_id = submit(client, b"retry me", callbackurl=receiver.url)
        receiver.wait_for(3)
        time.sleep(0.5)
        status = client.get(f"/file/webhook/{data_id}").json()
    assert [b["data_id"] for b in receiver.bodies] == [data_id] * 3
    assert status["status_code"] == 200


def test_unreachable_callback_gives_up_without_losing_the_result(make_server) -> None:
    quick = make_server({"SCANHIVE_WEBHOOK_RETRY_DELAY": "0.05", "SCANHIVE_WEBHOOK_ATTEMPTS": "2"})
    with quick.client() as client:
        data_id = submit(client, b"nobody listens", callbackurl="http://127.0.0.1:9/nothing")
        deadline = time.monotonic() + 20
        while client.get(f"/file/webhook/{data_id}").status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)
        status = client.get(f"/file/webhook/{data_id}").json()
        report = client.get(f"/file/{data_id}").json()
    assert status["status_code"] == 0 and status["request_time"]
    assert report["scan_results"]["scan_all_result_i"] == 0


def test_webhook_status_unknown_is_404(api: httpx.Client) -> None:
    assert api.get("/file/webhook/0000").status_code == 404


def test_reused_result_is_called_back_too(api: httpx.Client, receiver: Receiver) -> None:
    content = b"called back twice " + os.urandom(8)
    first = submit(api, content, callbackurl=receiver.url)
    receiver.wait_for(1)
    again = submit(api, content, callbackurl=receiver.url)
    receiver.wait_for(2)
    assert [body["data_id"] for body in receiver.bodies] == [first, again]
    assert receiver.bodies[1]["process_info"]["reused_from"] == first
    assert api.get(f"/file/webhook/{again}").json()["url"] == receiver.url
