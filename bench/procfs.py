"""Reading a process tree's memory and CPU from /proc (Linux only)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Memory:
    hwm_kib: int  # peak resident set since start or the last reset_peak
    rss_kib: int


def reset_peak(pid: int) -> None:
    """Reset VmHWM to the current RSS (`echo 5 > /proc/PID/clear_refs`)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def memory(pid: int) -> Memory:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.split()[0] if value.split() else "0"
    return Memory(int(fields["VmHWM"]), int(fields["VmRSS"]))


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name (state first), or None once it has gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (0 once it has gone)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / _TICKS if fields else 0.0


def leads_own_group(pid: int) -> bool:
    """Whether the process leads its own process group (ScanHive's API helpers do)."""
    fields = _stat(pid)
    return fields is not None and int(fields[2]) == pid


def children(pid: int) -> list[int]:
    """Direct children of a process."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    except FileNotFoundError:  # it exited meanwhile
        pass
    return found


def descendants(pid: int) -> list[int]:
    """Children, grandchildren and so on."""
    found = children(pid)
    for child in list(found):
        found += descendants(child)
    return found


def command(pid: int) -> str:
    """The command line ("" once it has gone, or for a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()
