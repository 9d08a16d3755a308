"""Issue 4 through the HTTP API: every file inside an archive is analyzed, and hostile archives
end in MetaDefender's result codes without hurting the server."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import httpx
import pyzipper
import pytest

from tests.archive_samples import build_arj
from tests.engines.office_samples import docx_embedding, ole_package
from tests.server import eicar, submit, wait_done


def zip_of(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def nested_zip(levels: int, payload: bytes) -> bytes:
    data = payload
    for level in range(levels):
        data = zip_of({f"level{level}.zip" if level else "payload.txt": data})
    return data


def files_outside(root: Path, before: set[Path]) -> set[Path]:
    return {p for p in root.rglob("*")} - before


def test_archive_children_are_analyzed_and_rolled_up(api: httpx.Client) -> None:
    archive = zip_of({"docs/readme.txt": b"hello", "bin/eicar.com": eicar(), "docs/notes.txt": b"notes"})
    data_id = submit(api, archive, filename="outer.zip")
    report = wait_done(api, data_id)
    assert report["scan_results"]["scan_all_result_i"] == 1
    assert report["process_info"]["result"] == "Blocked"
    extracted = report["extracted_files"]
    assert extracted["files_extracted_count"] == 3 and extracted["first_index"] == 0
    names = {f["display_name"]: f for f in extracted["files_in_archive"]}
    assert set(names) == {"outer.zip/docs/readme.txt", "outer.zip/bin/eicar.com", "outer.zip/docs/notes.txt"}
    infected = names["outer.zip/bin/eicar.com"]
    assert infected["scan_all_result_i"] == 1 and infected["detected_by"] == 2
    assert infected["progress_percentage"] == 100 and infected["process_info"]["result"] == "Blocked"
    assert extracted["worst_data_id"] == infected["data_id"]
    child = api.get(f"/file/{infected['data_id']}").json()
    assert child["file_info"]["display_name"] == "outer.zip/bin/eicar.com"
    assert child["scan_results"]["scan_details"]["ClamAV"]["threat_found"] == "Eicar-Test-Signature"
    assert report["extraction_info"]["is_encrypted_file"] is False


def test_arj_children_are_analyzed(api: httpx.Client, tmp_path: Path) -> None:
    archive = build_arj(tmp_path / "old.arj", {"eicar.com": eicar(), "readme.txt": b"hello"})
    report = wait_done(api, submit(api, archive.read_bytes(), filename="old.arj"))
    assert report["scan_results"]["scan_all_result_i"] == 1
    names = {f["display_name"]: f["scan_all_result_i"] for f in report["extracted_files"]["files_in_archive"]}
    assert names == {"old.arj/eicar.com": 1, "old.arj/readme.txt": 0}


def test_files_embedded_in_a_document_are_analyzed(api: httpx.Client) -> None:
    document = docx_embedding({"oleObject1.bin": ole_package("eicar.com", eicar())})
    report = wait_done(api, submit(api, document, filename="invoice.docx"))
    assert report["scan_results"]["scan_all_result_i"] == 1
    [embedded] = report["extracted_files"]["files_in_archive"]
    assert embedded["display_name"] == "invoice.docx/word/embeddings/oleObject1.bin"
    package = wait_done(api, embedded["data_id"])
    [packaged] = package["extracted_files"]["files_in_archive"]
    assert packaged["display_name"] == "invoice.docx/word/embeddings/oleObject1.bin/eicar.com"
    assert packaged["scan_all_result_i"] == 1


def test_document_without_embedded_files_is_no_archive(api: httpx.Client) -> None:
    report = wait_done(api, submit(api, docx_embedding({}), filename="plain.docx"))
    assert report["scan_results"]["scan_all_result_i"] == 0
    assert "extracted_files" not in report and "extraction_info" not in report


def test_child_is_found_by_hash_and_selfonly_limits_to_uploads(api: httpx.Client) -> None:
    inner = b"only ever seen inside an archive " + os.urandom(8)
    data_id = submit(api, zip_of({"inner.txt": inner}), filename="wrap.zip")
    wait_done(api, data_id)
    digest = hashlib.sha256(inner).hexdigest()
    found = api.get(f"/hash/{digest}").json()
    assert found["file_info"]["display_name"] == "wrap.zip/inner.txt"
    assert api.get(f"/hash/{digest}", headers={"selfonly": "true"}).json() == {digest: "Not Found"}


def test_nested_archives_are_opened_recursively(api: httpx.Client) -> None:
    report = wait_done(api, submit(api, nested_zip(3, eicar()), filename="deep.zip"))
    assert report["scan_results"]["scan_all_result_i"] == 1
    child = api.get(f"/file/{report['extracted_files']['files_in_archive'][0]['data_id']}").json()
    assert child["scan_results"]["scan_all_result_i"] == 1
    assert child["extracted_files"]["files_extracted_count"] == 1


def test_pagination_of_extracted_files(api: httpx.Client) -> None:
    archive = zip_of({f"f{i:03}.txt": f"file {i}".encode() for i in range(60)})
    data_id = submit(api, archive, filename="many.zip")
    first = wait_done(api, data_id)["extracted_files"]
    assert first["files_extracted_count"] == 60 and len(first["files_in_archive"]) == 50 and first["page_size"] == 50
    rest = api.get(f"/file/{data_id}", params={"first": 50, "size": 20}).json()["extracted_files"]
    assert rest["first_index"] == 50 and [f["display_name"] for f in rest["files_in_archive"]] == [
        f"many.zip/f{i:03}.txt" for i in range(50, 60)
    ]
    assert api.get(f"/file/{data_id}", params={"size": "-1"}).status_code == 400


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory):
    """A server whose rule has small archive limits."""
    from tests.server import ScanHiveServer

    config = tmp_path_factory.mktemp("limits") / "limits.toml"
    config.write_text(
        '[[rules]]\nname = "File Scan"\n'
        "[rules.archive]\nmax_depth = 2\nmax_files = 5\nmax_total_size = 1000000\nmax_file_size = 1000000\n"
    )
    server = ScanHiveServer(config.parent / "data", env={"SCANHIVE_CONFIG": str(config)}).start()
    yield server
    server.stop()


def test_zip_bomb_is_13_and_bounded(limited) -> None:
    bomb = zip_of({"bomb.bin": b"\0" * (50 * 1024 * 1024)})
    assert len(bomb) < 100_000
    with limited.client() as client:
        report = wait_done(client, submit(client, bomb, filename="bomb.zip"))
    assert report["scan_results"]["scan_all_result_i"] == 13
    assert report["scan_results"]["scan_all_result_a"] == "Exceeded Archive Size"
    assert report["extraction_info"]["err_code"] == 13
    assert sum(p.stat().st_size for p in (limited.data_dir / "files").rglob("*") if p.is_file()) < 5_000_000


def test_too_many_entries_is_14(limited) -> None:
    with limited.client() as client:
        report = wait_done(client, submit(client, zip_of({f"{i}.txt": b"x" for i in range(20)}), filename="many.zip"))
    assert report["scan_results"]["scan_all_result_i"] == 14
    assert report["extracted_files"]["files_extracted_count"] == 5


def test_depth_limit_is_9(limited) -> None:
    with limited.client() as client:
        report = wait_done(client, submit(client, nested_zip(4, b"deep"), filename="nest.zip"))
    assert report["scan_results"]["scan_all_result_i"] == 9
    assert report["scan_results"]["scan_all_result_a"] == "Exceeded Archive Depth"


def test_encrypted_archive_passwords(api: httpx.Client) -> None:
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(b"cow")
        archive.writestr("secret.com", eicar())
    locked = buffer.getvalue()
    without = wait_done(api, submit(api, locked, filename="locked.zip"))
    assert without["scan_results"]["scan_all_result_i"] == 12
    assert without["extraction_info"]["is_encrypted_file"] is True
    wrong = wait_done(api, submit(api, locked, filename="locked.zip", archivepwd="fox"))
    assert wrong["scan_results"]["scan_all_result_i"] == 12
    opened = wait_done(api, submit(api, locked, filename="locked.zip", archivepwd1="fox", archivepwd2="cow"))
    assert opened["scan_results"]["scan_all_result_i"] == 1
    assert opened["extraction_info"]["decrypted_status"] == "Success"


def test_broken_archive_is_24(api: httpx.Client) -> None:
    archive = zip_of({"a.txt": os.urandom(5000)}, zipfile.ZIP_STORED)
    truncated = archive[: len(archive) // 2]  # no central directory
    report = wait_done(api, submit(api, truncated, filename="broken.zip"))
    assert report["scan_results"]["scan_all_result_i"] == 24
    assert report["scan_results"]["scan_all_result_a"] == "Extraction Failed"


def test_hostile_entry_names_and_links_stay_inside(server, api: httpx.Client, tmp_path: Path) -> None:
    before = set(server.data_dir.parent.rglob("*"))
    evil = zip_of({"../../escaped.txt": b"up", "/etc/absolute.txt": b"abs", "dup.txt": b"one", "dup.txt ": b"x"})
    with zipfile.ZipFile(io.BytesIO(evil)) as check:
        assert "../../escaped.txt" in check.namelist()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        link = tarfile.TarInfo("passwd-link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
        hard = tarfile.TarInfo("hard-link")
        hard.type, hard.linkname = tarfile.LNKTYPE, "/etc/shadow"
        archive.addfile(hard)
        for name in ("same.txt", "same.txt"):
            info = tarfile.TarInfo(name)
            info.size = 4
            archive.addfile(info, io.BytesIO(b"data"))
    zip_report = wait_done(api, submit(api, evil, filename="evil.zip"))
    tar_report = wait_done(api, submit(api, buffer.getvalue(), filename="links.tar"))
    names = [f["display_name"] for f in zip_report["extracted_files"]["files_in_archive"]]
    assert all(".." not in n.split("/") and "//" not in n for n in names)
    assert "evil.zip/escaped.txt" in names and "evil.zip/etc/absolute.txt" in names
    tar_names = [f["display_name"] for f in tar_report["extracted_files"]["files_in_archive"]]
    assert tar_names == ["links.tar/same.txt", "links.tar/same.txt"]
    created = files_outside(server.data_dir.parent, before)
    assert all(server.data_dir in p.parents for p in created), [p for p in created if server.data_dir not in p.parents]
    assert not (server.data_dir / "work").exists() or not any((server.data_dir / "work").iterdir())


def test_cancel_archive_cancels_children(make_server) -> None:
    idle = make_server(workers=0, wait_ready=False)
    with idle.client() as client:
        data_id = submit(client, zip_of({"a.txt": b"a"}), filename="c.zip")
        client.post(f"/file/{data_id}/cancel")
        assert client.get(f"/file/{data_id}").json()["scan_results"]["scan_all_result_i"] == 19


def test_archive_survives_kill_9_during_children(make_server) -> None:
    server = make_server(workers=1)
    archive = zip_of({f"part{i}.bin": os.urandom(300_000) for i in range(20)} | {"z.com": eicar()}, zipfile.ZIP_STORED)
    with server.client() as client:
        data_id = submit(client, archive, filename="big.zip")
        while client.get(f"/file/{data_id}").json()["scan_results"]["progress_percentage"] < 50:
            pass
    server.kill()
    server.start()
    with server.client() as client:
        report = wait_done(client, data_id, timeout=120)
    assert report["scan_results"]["scan_all_result_i"] == 1
    assert report["extracted_files"]["files_extracted_count"] == 21
