"""`api_processes`: several processes answer the API on one port, and act as one server."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx

from tests.server import ScanHiveServer, submit, wait_done

_LISTEN, _ESTABLISHED = "0A", "01"


def _socket_owners() -> dict[int, set[int]]:
    """Socket inode -> the processes holding it (a listening socket is shared), over every process."""
    owners: dict[int, set[int]] = {}
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            match = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(fd))
        except OSError:  # the process or descriptor went away meanwhile
            continue
        if match:
            owners.setdefault(int(match.group(1)), set()).add(int(fd.parts[2]))
    return owners


def _holders(port: int, state: str) -> set[int]:
    """The processes holding a TCP socket in `state` on local `port` (this test's own left out)."""
    owners = _socket_owners()
    holders: set[int] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            holders |= owners.get(int(fields[9]), set())
    return holders - {os.getpid()}


def _api_processes(server: ScanHiveServer, count: int) -> set[int]:
    """The processes accepting on the server's port, once there are `count` of them."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listening = _holders(server.port, _LISTEN)
        if len(listening) == count:
            return listening
        time.sleep(0.1)
    raise AssertionError(f"not {count} processes listening: {listening}")


def _clients_on(server: ScanHiveServer, processes: set[int], stack: ExitStack) -> dict[int, httpx.Client]:
    """A client connected to each of `processes` (connections are opened until each took one)."""
    clients: dict[int, httpx.Client] = {}
    seen: set[int] = set()
    for _ in range(400):
        client = stack.enter_context(server.client())
        client.get("/readyz")  # connects and keeps the connection open
        mine = _holders(server.port, _ESTABLISHED) - seen
        seen |= mine
        for pid in mine & processes:
            clients.setdefault(pid, client)
        if clients.keys() == processes:
            return clients
    raise AssertionError(f"400 connections reached only {sorted(clients)} of {sorted(processes)}")


def test_every_api_process_answers_as_the_same_server(make_server: Callable[..., ScanHiveServer]) -> None:
    server = make_server(env={"SCANHIVE_API_PROCESSES": "3"})
    processes = _api_processes(server, 3)
    assert server.process is not None and server.process.pid in processes
    with ExitStack() as stack:
        clients = list(_clients_on(server, processes, stack).values())
        content = b"seen by every API process " + os.urandom(16)
        first = wait_done(clients[0], submit(clients[0], content))  # queued by one, scanned by a worker
        for client in clients[1:]:
            assert client.get("/readyz").status_code == 200  # they know the workers are ready
            again = client.get(f"/file/{submit(client, content)}").json()
            assert again["process_info"]["reused_from"] == first["data_id"]  # same start time, same results
        fresh = os.urandom(32)
        assert wait_done(clients[-1], submit(clients[-1], fresh))["scan_results"]["scan_all_result_i"] == 0


def test_an_api_process_that_crashes_is_replaced(make_server: Callable[..., ScanHiveServer]) -> None:
    server = make_server(env={"SCANHIVE_API_PROCESSES": "2"})
    processes = _api_processes(server, 2)
    assert server.process is not None
    (helper,) = processes - {server.process.pid}
    content = b"scanned before the crash " + os.urandom(16)
    with server.client() as client:
        first = wait_done(client, submit(client, content))
    os.kill(helper, signal.SIGKILL)
    with server.client() as client:  # answered meanwhile
        assert wait_done(client, submit(client, os.urandom(32)))["scan_results"]["progress_percentage"] == 100
    replaced = _api_processes(server, 2)
    (replacement,) = replaced - {server.process.pid}
    assert replacement != helper
    with ExitStack() as stack:
        client = _clients_on(server, {replacement}, stack)[replacement]
        again = client.get(f"/file/{submit(client, content)}").json()
    assert again["process_info"]["reused_from"] == first["data_id"]  # started later, same server
