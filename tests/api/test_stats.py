"""/version, /stat/engines, /stat/nodes, health checks, /file/rules and /openapi.json."""

from __future__ import annotations

import httpx

from tests.server import eicar, submit, wait_done


def test_version(api: httpx.Client) -> None:
    version = api.get("/version").json()
    assert version["product_id"] == "MSCL"
    assert version["version"].startswith("4.")


def test_stat_engines_lists_production_engines(api: httpx.Client) -> None:
    answer = api.get("/stat/engines")
    assert answer.headers["content-type"] == "application/json"
    engines = {e["eng_id"]: e for e in answer.json()}
    assert {"clamav_1_linux", "yara_1_linux", "filetype_1_linux"} <= set(engines)
    for engine in engines.values():
        assert engine["state"] == "production" and engine["active"] is True
        assert engine["eng_ver"]
    assert engines["clamav_1_linux"]["eng_name"] == "ClamAV"
    assert engines["filetype_1_linux"]["engine_type"] == "filetype"


def test_stat_nodes(api: httpx.Client) -> None:
    nodes = api.get("/stat/nodes").json()
    node = nodes[0]["statuses"][0]
    assert node["cpu_cores"] >= 1 and node["issues"] == []
    assert {e["id"] for e in node["engines"]} >= {"clamav_1_linux", "yara_1_linux"}


def test_health_checks(api: httpx.Client) -> None:
    for path in ("/readyz", "/admin/config/healthcheck"):
        answer = api.get(path)
        assert answer.status_code == 200 and answer.json() == {"status": "ready"}


def test_not_ready_without_workers(make_server) -> None:
    idle = make_server(workers=0, wait_ready=False)
    with idle.client() as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert "worker" in answer.json()["err"]


def test_rules(api: httpx.Client) -> None:
    assert api.get("/file/rules").json() == [{"max_file_size": 200000000, "name": "File Scan"}]


def test_rules_from_config_file_and_user_agent_restriction(make_server, tmp_path) -> None:
    config = tmp_path / "rules.toml"
    config.write_text(
        'default_rule = "Strict"\n'
        '[[rules]]\nname = "Strict"\nallow_results = [0]\n'
        '[[rules]]\nname = "YARA only"\nengines = ["yara_1_linux"]\n'
        '[[rules]]\nname = "Mail gateway"\nuser_agents = ["mailgw"]\n'
    )
    custom = make_server({"SCANHIVE_CONFIG": str(config)})
    with custom.client() as client:
        assert [r["name"] for r in client.get("/file/rules").json()] == ["Strict", "YARA only"]
        mail = client.get("/file/rules", headers={"user_agent": "mailgw"}).json()
        assert [r["name"] for r in mail] == ["Strict", "YARA only", "Mail gateway"]
        assert client.post("/file", content=b"x", headers={"rule": "Mail gateway"}).status_code == 403
        yara_only = wait_done(client, submit(client, eicar(), rule="YARA only"))
        default = wait_done(client, submit(client, b"clean"))
    assert set(yara_only["scan_results"]["scan_details"]) == {"YARA"}
    assert yara_only["process_info"]["profile"] == "YARA only"
    assert default["process_info"]["profile"] == "Strict"


def test_unknown_route_answers_err_json(api: httpx.Client) -> None:
    answer = api.get("/no/such/route")
    assert answer.status_code == 404
    assert "err" in answer.json()
    assert api.delete("/file").status_code == 405


def test_openapi_document(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    assert {"/file", "/file/{data_id}", "/hash/{digest}", "/login", "/stat/engines"} <= set(spec["paths"])
