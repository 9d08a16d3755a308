"""Scenario 2: upload-to-final-result latency of a 1 KiB clean file at low load (one client)."""

from __future__ import annotations

import statistics
from typing import Any

from bench import api, corpus, stats
from bench.config import BenchConfig
from bench.server import BenchServer

_WARMUP = 10


def run(config: BenchConfig, server: BenchServer) -> dict[str, Any]:
    """Sequential scans of distinct 1 KiB texts, polling every millisecond."""
    texts = corpus.small_texts(_WARMUP + config.latency_samples, config.seed)
    with api.Client(server.url) as http:
        for index, content in enumerate(texts[:_WARMUP]):
            api.scan(http, f"warmup-{index}.txt", content, config.latency_polling)
        with stats.cpu_used(server) as cpu:
            scans = [
                api.scan(http, f"probe-{index}.txt", content, config.latency_polling)
                for index, content in enumerate(texts[_WARMUP:])
            ]
    info = [s.report["process_info"] for s in scans]
    return {
        "scenario": "latency",
        "file_size": len(texts[0]),
        "poll_interval_ms": config.latency_polling.most * 1000,
        "total": stats.milliseconds([s.total_seconds for s in scans]),
        "upload": stats.milliseconds([s.upload_seconds for s in scans]),
        "server_queue_time_ms_p50": statistics.median(i["queue_time"] for i in info),
        "server_processing_time_ms_p50": statistics.median(i["processing_time"] for i in info),
        "verdicts": sorted({s.report["scan_results"]["scan_all_result_a"] for s in scans}),
        "cpu_seconds": cpu,
    }
