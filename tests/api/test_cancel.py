"""POST /file/{data_id}/cancel."""

from __future__ import annotations

import httpx

from tests.server import submit


def test_cancel_queued_file_ends_with_code_19(make_server) -> None:
    idle = make_server(workers=0, wait_ready=False)
    with idle.client() as client:
        data_id = submit(client, b"to be cancelled")
        answer = client.post(f"/file/{data_id}/cancel")
        assert answer.status_code == 200
        assert answer.json() == {data_id: "cancelled"}
        report = client.get(f"/file/{data_id}").json()
        again = client.post(f"/file/{data_id}/cancel")
    assert report["scan_results"]["scan_all_result_i"] == 19
    assert report["scan_results"]["scan_all_result_a"] == "Cancelled"
    assert report["scan_results"]["progress_percentage"] == 100
    assert report["process_info"]["result"] == "Blocked"
    assert again.status_code == 400


def test_cancelled_file_is_not_rescanned_after_restart(make_server) -> None:
    idle = make_server(workers=0, wait_ready=False)
    with idle.client() as client:
        data_id = submit(client, b"cancel then restart")
        client.post(f"/file/{data_id}/cancel")
    idle.stop()
    idle.workers = 1
    idle.start()
    with idle.client() as client:
        assert client.get(f"/file/{data_id}").json()["scan_results"]["scan_all_result_i"] == 19


def test_cancel_unknown_is_404(api: httpx.Client) -> None:
    answer = api.post("/file/ffffffffffffffffffffffffffffffff/cancel")
    assert answer.status_code == 404
    assert answer.json() == {"err": "Not found"}
