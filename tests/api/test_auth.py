"""Login sessions, apikeys, the admin account and the mandatory-apikey switch."""

from __future__ import annotations

import re

import httpx

from tests.server import ADMIN_PASSWORD, submit, wait_done


def login(client: httpx.Client, password: str = ADMIN_PASSWORD) -> httpx.Response:
    return client.post("/login", json={"user": "admin", "password": password})


def test_login_logout_cycle(api: httpx.Client) -> None:
    answer = login(api)
    assert answer.status_code == 200
    session = answer.json()
    assert set(session) == {"session_id", "oms-csrf-token"}
    apikey = {"apikey": session["session_id"]}
    assert api.get("/admin/license", headers=apikey).status_code == 200
    logout = api.post("/logout", headers=apikey)
    assert logout.status_code == 200 and logout.json() == {"response": "Logout success"}
    assert api.get("/admin/license", headers=apikey).status_code == 403
    assert api.post("/logout", headers=apikey).status_code == 403
    assert api.post("/logout").status_code == 400


def test_login_body_is_json_whatever_the_content_type(api: httpx.Client) -> None:
    body = f'{{"user":"admin","password":"{ADMIN_PASSWORD}"}}'
    answer = api.post("/login", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200 and "session_id" in answer.json()


def test_bad_credentials_are_403(api: httpx.Client) -> None:
    assert login(api, "wrong").status_code == 403
    assert login(api, "wrong").json() == {"err": "Failed to login"}
    assert api.post("/login", content=b"garbage").status_code == 403
    assert api.post("/login", json={"user": "admin"}).status_code == 403


def test_admin_license_in_recorded_shape(api: httpx.Client) -> None:
    assert api.get("/admin/license").status_code == 403
    assert api.get("/admin/license").json() == {"err": "Access denied"}
    apikey = login(api).json()["session_id"]
    license_info = api.get("/admin/license", headers={"apikey": apikey}).json()
    assert set(license_info) == {
        "days_left", "deployment", "expiration", "licensed_engines", "licensed_to",
        "max_agent_count", "online_activated", "product_id", "product_name",
    }
    assert license_info["expiration"] == "12/31/9999"
    assert "MIT License" in license_info["licensed_to"]


def test_scanning_is_open_by_default(api: httpx.Client) -> None:
    assert wait_done(api, submit(api, b"anonymous"))["process_info"]["username"] == ""
    apikey = login(api).json()["session_id"]
    named = submit(api, b"named", apikey=apikey)
    assert wait_done(api, named)["process_info"]["username"] == "admin"


def test_mandatory_apikey(make_server) -> None:
    locked = make_server({"SCANHIVE_REQUIRE_APIKEY": "true", "SCANHIVE_APIKEYS": '["static-key-1"]'})
    with locked.client() as client:
        assert client.post("/file", content=b"x").status_code == 403
        assert client.get("/file/0123").status_code == 403
        assert client.get(f"/hash/{'0' * 32}").status_code == 403
        assert client.post("/file", content=b"x", headers={"apikey": "wrong"}).status_code == 403
        data_id = submit(client, b"x", apikey="static-key-1")
        session = login(client).json()["session_id"]
        client.headers["apikey"] = session
        assert wait_done(client, data_id)["scan_results"]["scan_all_result_i"] == 0


def test_generated_admin_password_is_printed_once(make_server) -> None:
    fresh = make_server(admin_password=None)
    printed = re.findall(r"password '([^']+)'", fresh.log.read_text())
    assert len(printed) == 1
    with fresh.client() as client:
        assert login(client, printed[0]).status_code == 200
    fresh.stop()
    fresh.start()
    assert len(re.findall(r"password '([^']+)'", fresh.log.read_text())) == 1  # not again
    with fresh.client() as client:
        assert login(client, printed[0]).status_code == 200
