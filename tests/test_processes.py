"""Children that must not outlive the server, even when it dies while they start."""

from __future__ import annotations

import signal
import subprocess
import sys


def _child(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_a_child_whose_parent_died_before_it_asked_ends_itself() -> None:
    # Being handed to another parent (here: claiming a parent that is not ours) is what a child
    # sees when the server died between starting it and its PDEATHSIG request.
    late = _child("from scanhive.processes import die_with_parent; die_with_parent(1); print('alive')")
    assert late.returncode == -signal.SIGKILL and late.stdout == ""


def test_a_child_of_a_living_parent_carries_on() -> None:
    alive = _child("import os; from scanhive.processes import die_with_parent; die_with_parent(os.getppid()); print('alive')")
    assert alive.returncode == 0 and alive.stdout == "alive\n"
