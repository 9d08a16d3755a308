"""Scenario 3: GET /hash and bulk POST /hash latency with many results (seeded) in the database."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import api, corpus, seed, stats
from bench.config import BenchConfig
from bench.server import BenchServer

_WARMUP = 20
_KINDS = ("sha256", "md5", "sha1")
_HIT_SHARE = 0.9  # of each bulk request; the rest are unknown hashes
_BUDGET = 60.0  # seconds each kind of lookup may take before it stops early (slow plans)
_MINIMUM = 20  # lookups measured even beyond the budget


def _timed_calls(call: Callable[[Any], float], arguments: list[Any]) -> list[float]:
    """Time `call` on each argument until all are done or the budget is spent."""
    deadline = time.monotonic() + _BUDGET
    times: list[float] = []
    for argument in arguments:
        if len(times) >= _MINIMUM and time.monotonic() > deadline:
            break
        times.append(call(argument))
    return times


def _timed(call: Callable[..., Any], *args: Any) -> float:
    """Seconds `call(*args)` took (it raises on an error status)."""
    began = time.perf_counter()
    call(*args)
    return time.perf_counter() - began


def prepare(config: BenchConfig, data_dir: Path) -> dict[str, Any]:
    """A real scan for the row template, then the server stopped and the rows seeded."""
    with BenchServer(data_dir, config.workers) as server, api.Client(server.url) as http:
        api.scan(http, "template.txt", corpus.small_texts(1, config.seed + 1)[0], config.latency_polling)
    return seed.seed_jobs(data_dir / "scanhive.db", config.hash_rows, config.seed)


def _bulk_body(rng: random.Random, config: BenchConfig) -> list[str]:
    hits = round(config.bulk_size * _HIT_SHARE)
    wanted = [seed.digests(config.seed, i)["sha256"] for i in rng.sample(range(config.hash_rows), hits)]
    wanted += [hashlib.sha256(rng.randbytes(16)).hexdigest() for _ in range(config.bulk_size - hits)]
    rng.shuffle(wanted)
    return wanted


def run(config: BenchConfig, server: BenchServer, seeded: dict[str, Any]) -> dict[str, Any]:
    """Single lookups cycle sha256/md5/sha1 of random seeded rows; bulk asks 1000 sha256 (90% known).

    Each kind stops early once it has taken a minute, so a slow query plan cannot stall the run.
    """
    rng = random.Random(config.seed)
    singles = [
        seed.digests(config.seed, index)[_KINDS[n % len(_KINDS)]]
        for n, index in enumerate(rng.sample(range(config.hash_rows), _WARMUP + config.single_lookups))
    ]
    bulks = [_bulk_body(rng, config) for _ in range(config.bulk_lookups + 1)]
    with api.Client(server.url) as http:
        for digest in singles[:_WARMUP]:
            _timed(http.get, f"/hash/{digest}")
        with stats.cpu_used(server) as single_cpu:
            single = _timed_calls(lambda digest: _timed(http.get, f"/hash/{digest}"), singles[_WARMUP:])
        missing = sum(1 for digest in singles[_WARMUP:][:50] if "data_id" not in http.get(f"/hash/{digest}"))
        found = sum(1 for entry in http.post_json("/hash", {"hash": bulks[0]})["data"] if entry["data_id"])
        with stats.cpu_used(server) as bulk_cpu:
            bulk = _timed_calls(lambda body: _timed(http.post_json, "/hash", {"hash": body}), bulks[1:])
    if missing or found != round(config.bulk_size * _HIT_SHARE):
        raise RuntimeError(f"seeded hashes not found: {missing} single misses, {found} bulk hits")
    return {
        "scenario": "hash_lookups",
        "seeded": seeded,
        "single": {**stats.milliseconds(single), "cpu_seconds": single_cpu},
        "bulk": {
            **stats.milliseconds(bulk), "size": config.bulk_size, "hit_share": _HIT_SHARE, "cpu_seconds": bulk_cpu,
        },
    }
