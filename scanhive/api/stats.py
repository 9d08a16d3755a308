"""Product, engine and health information: /version, /stat/*, /readyz, /admin/license."""

from __future__ import annotations

import os
import platform
from datetime import date

from fastapi import APIRouter, Request
from sqlalchemy import text

import scanhive
from scanhive.api.auth import require_admin, require_caller, runtime_of
from scanhive.api.responses import WireJSONResponse
from scanhive.runtime import Runtime
from scanhive.store import engine_switches, jobs
from scanhive.timefmt import iso

router = APIRouter(tags=["stats"])

#: The Core API generation ScanHive implements (clients pick features by it).
CORE_API_VERSION = "4.18.0"
_LICENSE_EXPIRATION = date(9999, 12, 31)


def engine_list(runtime: Runtime) -> list[dict]:
    """/stat/engines entries: the file type engine and every registered scanning engine."""
    entries = []
    switches = runtime.admin.switches()
    for engine in [runtime.file_types, *runtime.engines]:
        status = engine.status()
        switch = switches.get(engine.eng_id, engine_switches.Switches())
        entry = {
            "active": status.usable and switch.enabled,
            "def_time": iso(status.def_time) if status.def_time else "",
            "download_progress": 100,
            "download_time": iso(status.def_time) if status.def_time else "",
            "eng_id": engine.eng_id,
            "eng_name": engine.eng_name,
            "eng_type": "Bundled engine",
            "eng_ver": status.eng_ver,
            "engine_type": engine.engine_type,
            "pinned": switch.pinned,
            "state": status.state if switch.enabled else "disabled",
            "type": "engine",
        }
        if status.reason:
            entry["reason"] = status.reason
        entries.append(entry)
    return entries


def health_problems(runtime: Runtime) -> list[str]:
    problems = []
    try:
        with runtime.db.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means not ready
        problems.append(f"database: {exc}")
    if runtime.workers_alive() == 0:
        problems.append("no analysis worker is running")
    return problems


@router.get("/version")
def version(request: Request) -> WireJSONResponse:
    require_caller(request)
    return WireJSONResponse(
        {"product_id": "MSCL", "product_name": "ScanHive", "scanhive_version": scanhive.__version__, "version": CORE_API_VERSION}
    )


@router.get("/stat/engines")
def engines(request: Request) -> WireJSONResponse:
    require_caller(request)
    return WireJSONResponse(engine_list(runtime_of(request)))


@router.get("/stat/nodes")
def nodes(request: Request) -> WireJSONResponse:
    require_caller(request)
    runtime = runtime_of(request)
    node = {
        "address": "",
        "cpu_cores": os.cpu_count() or 1,
        "engines": [
            {
                "active": e["active"],
                "db_ver": e["eng_ver"],
                "def_time": e["def_time"],
                "eng_name": e["eng_name"],
                "eng_ver": e["eng_ver"],
                "engine_type": e["engine_type"],
                "id": e["eng_id"],
            }
            for e in engine_list(runtime)
        ],
        "free_disk_space": runtime.store.free_bytes(),
        "id": platform.node() or "local",
        "issues": [{"description": p, "severity": "error"} for p in health_problems(runtime)],
        "load": int(os.getloadavg()[0] * 100 / (os.cpu_count() or 1)),
        "os": platform.platform(),
        "scan_queue": jobs.pending_count(runtime.db),
        "total_memory": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024),
        "version": scanhive.__version__,
    }
    return WireJSONResponse([{"external_nodes_allowed": False, "max_node_count": 1, "statuses": [node]}])


def _health(request: Request) -> WireJSONResponse:
    problems = health_problems(runtime_of(request))
    if problems:
        return WireJSONResponse({"err": "; ".join(problems), "status": "not ready"}, status_code=503)
    return WireJSONResponse({"status": "ready"})


@router.get("/readyz")
def readyz(request: Request) -> WireJSONResponse:
    return _health(request)


@router.get("/admin/config/healthcheck")
def healthcheck(request: Request) -> WireJSONResponse:
    return _health(request)


@router.get("/admin/license")
def license_info(request: Request) -> WireJSONResponse:
    """The recorded Core license shape, describing ScanHive's open-source licence."""
    require_admin(request)
    runtime = runtime_of(request)
    return WireJSONResponse(
        {
            "days_left": (_LICENSE_EXPIRATION - date.today()).days,
            "deployment": runtime.deployment_id,
            "expiration": _LICENSE_EXPIRATION.strftime("%m/%d/%Y"),
            "licensed_engines": "*",
            "licensed_to": "Everyone: open source under the MIT License",
            "max_agent_count": "unlimited",
            "online_activated": False,
            "product_id": "SCANHIVE-OSS",
            "product_name": f"ScanHive {scanhive.__version__} (MIT)",
        }
    )
