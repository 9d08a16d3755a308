"""Sampling the server's processes with py-spy during a scenario, and summarizing the samples.

`python -m bench.run --profile` records `<out>/profiles/<scenario>-<role>-<pid>.txt` (py-spy's
collapsed "raw" stacks); `python -m bench.profiling FILE...` prints the functions with the most
busy samples, inclusive and self. py-spy cannot tell every waiting thread from a running one here,
so samples whose innermost frame is a known wait (a condition, a poll, the event loop's own
select, which hides uvloop's C work too) count as idle and are left out.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.server import BenchServer

_RATE = 100  # samples per second
_ROLES = ("api", "workers", "engine_hosts")
_WAITS = (
    "Condition.wait (threading.py)",
    "Event.wait (threading.py)",
    "Runner.run (asyncio/runners.py)",
    "_PollLikeSelector.select (selectors.py)",
    "Connection._poll (multiprocessing/connection.py)",
    "Connection._recv (multiprocessing/connection.py)",
)


def _py_spy() -> str | None:
    """py-spy on PATH, or beside this Python (an unactivated venv)."""
    return shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))


@contextmanager
def recorded(server: BenchServer, directory: Path, label: str, enabled: bool = True) -> Iterator[None]:
    """Run py-spy on the api, worker and engine host processes while the block runs."""
    if not enabled:
        yield
        return
    py_spy = _py_spy()
    if py_spy is None:
        raise RuntimeError("--profile needs py-spy: pip install -e '.[bench]'")
    directory.mkdir(parents=True, exist_ok=True)
    spies = []
    for role, pids in server.roles().items():
        for pid in pids if role in _ROLES else ():
            output = directory / f"{label}-{role}-{pid}.txt"
            command = [py_spy, "record", "--pid", str(pid), "--rate", str(_RATE), "--threads",
                       "--format", "raw", "--output", str(output), "--nonblocking"]
            spies.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            spy.wait(timeout=60)


def _function(frame: str) -> str:
    """'insert (scanhive/store/jobs.py:19)' -> 'insert (scanhive/store/jobs.py)': lines merged."""
    name, _, location = frame.partition(" (")
    return f"{name} ({location.rsplit(':', 1)[0]})" if location.endswith(")") and ":" in location else frame


def summarize(path: Path, top: int, thread: str = "") -> str:
    """The `top` frames by inclusive and by self samples, as shares of the busy samples of the
    threads whose name contains `thread` (all threads when empty)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = idle = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        frames = [_function(frame) for frame in stack.split(";")]
        if thread not in frames[0]:
            continue
        if frames[-1] in _WAITS:
            idle += samples
            continue
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    where = f" in threads named *{thread}*" if thread else ""
    lines = [f"{path.name}: {total} busy samples{where} ({idle} idle left out)"]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines.append(f"  top {top} {title}:")
        lines += [f"    {count / total:6.1%}  {frame}" for frame, count in counter.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling", description="summarize py-spy raw profiles")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--thread", default="", help="only threads whose name contains this, e.g. MainThread")
    args = parser.parse_args()
    for path in args.files:
        print(summarize(path, args.top, args.thread))


if __name__ == "__main__":
    main()
