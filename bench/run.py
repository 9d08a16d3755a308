"""`python -m bench.run [--quick] [--out bench/out]`: every scenario of issue 6, one row each.

Each scenario prints its row and writes `<out>/<scenario>.json`; the run writes `<out>/summary.json`
(machine, settings, rows, targets) and `<out>/RESULTS.md` (also to `--results`, e.g. bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import corpus, machine, report
from bench.config import BenchConfig, make_config
from bench.profiling import recorded
from bench.scenarios import duplicates, hashes, large, latency, throughput
from bench.server import BenchServer

SCENARIOS = ("throughput", "duplicates", "latency", "large_file", "hash_lookups")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller scenarios (~2 minutes)")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="where the JSON and RESULTS.md go")
    parser.add_argument("--results", type=Path, help="also write the results table here (bench/RESULTS.md)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients for throughput")
    parser.add_argument("--workers", type=int, help="scanhive serve --workers (default: cores)")
    parser.add_argument("--api-processes", type=int, default=1, help="scanhive serve --api-processes")
    parser.add_argument("--seed", type=int, default=6, help="corpus and seeding seed")
    parser.add_argument("--work", type=Path, help="scratch dir for corpus and data dirs, kept (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temp scratch dir")
    parser.add_argument("--profile", action="store_true", help="record py-spy profiles into <out>/profiles")
    return parser.parse_args(argv)


def _record(config: BenchConfig, rows: dict[str, dict[str, Any]], row: dict[str, Any]) -> None:
    rows[row["scenario"]] = row
    (config.out / f"{row['scenario']}.json").write_text(json.dumps(row, indent=2) + "\n")
    print(report.line(row), flush=True)


def _server_scenarios(config: BenchConfig, wanted: set[str], profile: bool, rows: dict[str, dict[str, Any]]) -> None:
    """Throughput, duplicates, latency and large file, in that order, on one server."""
    corpus_dir = config.work / "corpus"
    paths: list[Path] = []
    if wanted & {"throughput", "duplicates"}:
        paths = corpus.write(corpus_dir, config.files, config.seed, config.large_sizes)
        print(f"corpus: {len(paths)} files, {sum(p.stat().st_size for p in paths) / 1e6:.1f} MB", flush=True)
    profiles = config.out / "profiles"
    with BenchServer(config.work / "server", config.workers, config.api_processes) as server:
        if wanted & {"throughput", "duplicates"}:
            raw = throughput.raw_tools(config, server, corpus_dir, paths)
            server.restart_clamd()  # each pass starts with clamd's clean-file cache empty
            with recorded(server, profiles, "throughput", profile):
                row, first = throughput.run(config, server, paths, raw)
            _record(config, rows, row)
            if "duplicates" in wanted:
                server.restart_clamd()
                with recorded(server, profiles, "duplicates", profile):
                    _record(config, rows, duplicates.run(config, server, paths, first))
        if "latency" in wanted:
            with recorded(server, profiles, "latency", profile):
                _record(config, rows, latency.run(config, server))
        if "large_file" in wanted:
            with recorded(server, profiles, "large_file", profile):
                _record(config, rows, large.run(config, server))


def _hash_scenario(config: BenchConfig, profile: bool, rows: dict[str, dict[str, Any]]) -> None:
    """Hash lookups on a server of its own, its database seeded first."""
    data_dir = config.work / "hashes"
    seeded = hashes.prepare(config, data_dir)
    with BenchServer(data_dir, config.workers, config.api_processes) as server:
        with recorded(server, config.out / "profiles", "hash_lookups", profile):
            _record(config, rows, hashes.run(config, server, seeded))


def _run(config: BenchConfig, wanted: set[str], profile: bool) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    if wanted - {"hash_lookups"}:
        _server_scenarios(config, wanted, profile, rows)
    if "hash_lookups" in wanted:
        _hash_scenario(config, profile, rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    if wanted - set(SCENARIOS):
        sys.exit(f"unknown scenario(s): {', '.join(sorted(wanted - set(SCENARIOS)))}")
    work = args.work or Path(tempfile.mkdtemp(prefix="scanhive-bench-"))
    config = make_config(args.quick, args.out, work, args.seed, args.clients, args.workers, args.api_processes)
    config.out.mkdir(parents=True, exist_ok=True)
    config.work.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python -m bench.run", *(sys.argv[1:] if argv is None else argv)])
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    about = machine.describe()
    print(f"machine: {about['cores']} cores, {about['cpu_model']}, load {about['load_average']}", flush=True)
    began = time.monotonic()
    try:
        rows = _run(config, wanted, args.profile)
    finally:
        if args.work is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    about["load_average_end"] = machine.load_average()
    summary = {
        "machine": about,
        "command": command,
        "started_utc": started,
        "seconds": round(time.monotonic() - began),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(config).items()},
        "rows": rows,
        "targets": [dataclasses.asdict(t) for t in report.targets(rows)],
    }
    (config.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    results = report.markdown(about, command, started, rows)
    for path in filter(None, (config.out / "RESULTS.md", args.results)):
        path.write_text(results)
    for target in report.targets(rows):
        print(f"{'met   ' if target.met else 'MISSED'} {target.name}: {target.measured} (goal {target.goal})")
    print(f"done in {summary['seconds']} s; results in {config.out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
