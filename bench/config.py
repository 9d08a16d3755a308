"""How big each scenario is, for a full run (~10 minutes on 2 cores) and a quick one (~2 minutes)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.api import Polling

MIB = 1024 * 1024


@dataclass(frozen=True)
class BenchConfig:
    quick: bool
    out: Path
    work: Path  # corpus and server data dirs (removed after the run unless kept)
    seed: int
    files: int  # mixed 1 KiB..1 MiB corpus files
    large_sizes: tuple[int, ...]  # the few large corpus files
    clients: int  # concurrent HTTP clients in the throughput and duplicates passes
    workers: int  # `scanhive serve --workers`
    api_processes: int  # `scanhive serve --api-processes`
    polling: Polling  # how throughput clients poll for the final report
    raw_repeats: int  # runs of each raw tool (the median is reported)
    latency_samples: int
    resubmit_samples: int  # new corpus files each sent twice, one at a time (duplicates scenario)
    latency_polling: Polling
    hash_rows: int  # finished results seeded into the database
    single_lookups: int
    bulk_lookups: int
    bulk_size: int
    large_upload: int  # bytes of the large-file upload


def make_config(
    quick: bool, out: Path, work: Path, seed: int, clients: int, workers: int | None, api_processes: int
) -> BenchConfig:
    return BenchConfig(
        quick=quick,
        out=out,
        work=work,
        seed=seed,
        files=300 if quick else 2000,
        large_sizes=(16 * MIB,) if quick else (16 * MIB, 32 * MIB, 64 * MIB),
        clients=clients,
        workers=workers or os.cpu_count() or 2,
        api_processes=api_processes,
        polling=Polling(first=0.005, most=0.1),
        raw_repeats=3,
        latency_samples=60 if quick else 300,
        resubmit_samples=30 if quick else 100,
        latency_polling=Polling(first=0.001, most=0.001),
        hash_rows=100_000 if quick else 1_000_000,
        single_lookups=300 if quick else 2000,
        bulk_lookups=30 if quick else 200,
        bulk_size=1000,
        large_upload=256 * MIB if quick else 1024 * MIB,
    )
