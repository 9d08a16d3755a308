"""POST /file: the ways real clients upload, and the documented error answers."""

from __future__ import annotations

import hashlib
import socket
from urllib.parse import quote

import httpx

from tests.server import eicar, submit, wait_done


def test_raw_upload_answers_data_id_and_hashes(api: httpx.Client) -> None:
    body = b"hello scanhive\n"
    answer = api.post("/file", content=body, headers={"filename": "hello.txt"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    data = answer.json()
    assert len(data["data_id"]) == 32
    assert data["sha1"] == hashlib.sha1(body).hexdigest()
    assert data["sha256"] == hashlib.sha256(body).hexdigest()
    assert b" " not in answer.content  # compact JSON


def test_url_encoded_and_raw_utf8_filenames(api: httpx.Client) -> None:
    name = "résumé 2024 (final).txt"
    encoded = submit(api, b"a", filename=quote(name))
    assert wait_done(api, encoded)["file_info"]["display_name"] == name
    raw = api.post("/file", content=b"b", headers=[("filename", name.encode("utf-8"))])
    assert wait_done(api, raw.json()["data_id"])["file_info"]["display_name"] == name


def test_multipart_upload_uses_filename_header_over_part_name(api: httpx.Client) -> None:
    answer = api.post("/file", files={"file": ("part-name.bin", b"multipart body")}, headers={"filename": "header-name.bin"})
    report = wait_done(api, answer.json()["data_id"])
    assert report["file_info"]["display_name"] == "header-name.bin"
    assert report["file_info"]["md5"] == hashlib.md5(b"multipart body").hexdigest()


def test_multipart_upload_without_filename_header_uses_part_name(api: httpx.Client) -> None:
    answer = api.post("/file", files={"file": ("only-part.txt", b"content")}, data={"other": "field"})
    assert wait_done(api, answer.json()["data_id"])["file_info"]["display_name"] == "only-part.txt"


def test_any_content_type_or_none_is_accepted(api: httpx.Client) -> None:
    for content_type in ("application/x-www-form-urlencoded", "text/plain", None):
        headers = {"content-type": content_type} if content_type else {}  # httpx sends none by itself
        answer = api.post("/file", content=b"typed body", headers=headers)
        assert answer.status_code == 200, (content_type, answer.text)
        assert wait_done(api, answer.json()["data_id"])["file_info"]["file_size"] == len(b"typed body")


def test_missing_content_length_is_411(api: httpx.Client) -> None:
    def chunks():
        yield b"streamed without length"

    answer = api.post("/file", content=chunks())
    assert answer.status_code == 411
    assert answer.json() == {"err": "Missing Content-Length header."}


def test_empty_body_is_422(api: httpx.Client) -> None:
    answer = api.post("/file", content=b"")
    assert answer.status_code == 422
    assert answer.json() == {"err": "File is empty."}
    empty_part = api.post("/file", files={"file": ("empty.txt", b"")})
    assert empty_part.status_code == 422


def test_malformed_multipart_is_400(api: httpx.Client) -> None:
    no_boundary = api.post("/file", content=b"x", headers={"content-type": "multipart/form-data"})
    assert no_boundary.status_code == 400
    only_a_field = b'--b\r\nContent-Disposition: form-data; name="field"\r\n\r\nvalue\r\n--b--\r\n'
    no_file = api.post("/file", content=only_a_field, headers={"content-type": "multipart/form-data; boundary=b"})
    assert no_file.status_code == 400
    assert no_file.json() == {"err": "multipart body has no 'file' part"}
    garbage = api.post(
        "/file", content=b"--b\r\nnot a header line\r\n\r\n", headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert garbage.status_code == 400
    assert "err" in garbage.json()


def test_bad_callbackurl_is_400(api: httpx.Client) -> None:
    for url in ("not a url", "ftp://example.org/x", "http://"):
        answer = api.post("/file", content=b"x", headers={"callbackurl": url})
        assert answer.status_code == 400
        assert answer.json() == {"err": "Callback url is invalid."}


def test_unknown_rule_is_400_and_rule_header_is_url_decoded(api: httpx.Client) -> None:
    assert api.post("/file", content=b"x", headers={"rule": "No such rule"}).status_code == 400
    data_id = submit(api, b"x", rule=quote("File Scan"))
    assert wait_done(api, data_id)["process_info"]["profile"] == "File Scan"
    legacy = submit(api, b"x", workflow="File%20Scan")
    assert wait_done(api, legacy)["process_info"]["profile"] == "File Scan"


def test_invalid_global_timeout_is_400(api: httpx.Client) -> None:
    answer = api.post("/file", content=b"x", headers={"global-timeout": "soon"})
    assert answer.status_code == 400


def test_headers_are_echoed_in_report(api: httpx.Client) -> None:
    data_id = submit(api, b"x", user_agent="pytest-agent", metadata=quote('{"ticket": 7}'))
    report = wait_done(api, data_id)
    assert report["process_info"]["user_agent"] == "pytest-agent"
    assert report["metadata"] == '{"ticket": 7}'


def test_client_disconnect_mid_upload_loses_nothing_and_keeps_server_up(server, api: httpx.Client) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST /file HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"a" * 1000)
    leftovers = list((server.data_dir / "files" / "incoming").iterdir())
    data_id = submit(api, eicar())
    assert wait_done(api, data_id)["scan_results"]["scan_all_result_i"] == 1
    assert len(leftovers) <= 1  # at most the one being cut off at that moment


def test_queue_full_is_503(make_server) -> None:
    busy = make_server({"SCANHIVE_MAX_QUEUE": "0"})
    with busy.client() as client:
        answer = client.post("/file", content=b"x")
    assert answer.status_code == 503
    assert answer.json() == {"err": "Server is too busy. Try again later."}


def test_low_disk_space_is_400(make_server) -> None:
    full = make_server({"SCANHIVE_MIN_FREE_DISK_MB": str(10**12)})
    with full.client() as client:
        answer = client.post("/file", content=b"x")
    assert answer.status_code == 400
    assert "disk" in answer.json()["err"]
