"""Turning scenario rows into console lines, the issue's targets (met/missed) and RESULTS.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Rows = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    measured: str
    met: bool


def noise(row: dict[str, Any]) -> float:
    """The largest share of the machine's CPU that processes outside the benchmark used meanwhile."""
    shares = [value for key, value in row.items() if key == "others_share"]
    shares += [noise(value) for value in row.values() if isinstance(value, dict)]
    return max(shares, default=0.0)


def line(row: dict[str, Any]) -> str:
    """One console row per scenario, with the CPU share other processes took meanwhile."""
    return f"{_measurements(row)} [others {noise(row):.0%} CPU]"


def _measurements(row: dict[str, Any]) -> str:
    kind = row["scenario"]
    if kind == "throughput":
        s, c, h = row["scanhive"], row["clamdscan"], row["sha256sum"]
        return (
            f"throughput   scanhive {s['files_per_s']} files/s {s['mb_per_s']} MB/s (C={row['clients']}) | "
            f"clamdscan {c['files_per_s']} files/s {c['mb_per_s']} MB/s | sha256sum {h['files_per_s']} files/s "
            f"{h['mb_per_s']} MB/s | ratio {row['ratio_vs_clamdscan']}x clamdscan, "
            f"{row['ratio_vs_sha256sum']}x sha256sum"
        )
    if kind == "latency":
        t = row["total"]
        return (
            f"latency      1 KiB upload->final p50 {t['p50_ms']} ms p95 {t['p95_ms']} ms "
            f"p99 {t['p99_ms']} ms (n={t['n']})"
        )
    if kind == "hash_lookups":
        s, b = row["single"], row["bulk"]
        return (
            f"hash lookups {row['seeded']['rows']:,} rows: single p50 {s['p50_ms']} ms p99 {s['p99_ms']} ms "
            f"(n={s['n']}) | bulk {b['size']} p50 {b['p50_ms']} ms p99 {b['p99_ms']} ms (n={b['n']})"
        )
    if kind == "large_file":
        return (
            f"large file   {row['bytes'] / 2**30:g} GiB upload {row['upload_mb_per_s']} MB/s "
            f"(hashing {row['hash_time_ms'] / 1000:g} s of {row['upload_seconds']} s; the four digests on one "
            f"core just before: {row['digests_one_core_mb_per_s']} MB/s), "
            f"api peak growth {row['api_growth_mib']} MiB, worker peak growth {row['worker_growth_mib']} MiB"
        )
    single = row["one_at_a_time"]
    return (
        f"duplicates   second pass {row['second']['files_per_s']} files/s vs first {row['first']['files_per_s']} "
        f"({row['speedup_files_per_s']}x), marked as reused: {row['marked_reused']}/{row['second']['files']} | "
        f"one at a time p50 {single['resubmitted']['p50_ms']} ms vs first {single['first']['p50_ms']} ms "
        f"({single['speedup_p50']}x, n={single['files']})"
    )


def targets(rows: Rows) -> list[Target]:
    """The issue's targets for a 2-core machine, judged on this run."""
    found: list[Target] = []
    if "throughput" in rows:
        ratio = rows["throughput"]["ratio_vs_clamdscan"]
        found.append(Target("Throughput vs raw clamdscan", ">= 0.8x", f"{ratio}x", ratio >= 0.8))
    if "latency" in rows:
        p50 = rows["latency"]["total"]["p50_ms"]
        found.append(Target("1 KiB upload->final latency p50", "< 25 ms", f"{p50} ms", p50 < 25))
    if "hash_lookups" in rows:
        hashes = rows["hash_lookups"]
        label = f"{hashes['seeded']['rows']:,} rows"
        bulk, single = hashes["bulk"]["p50_ms"], hashes["single"]["p50_ms"]
        found.append(Target(f"Bulk lookup of 1000 hashes p50 ({label})", "< 50 ms", f"{bulk} ms", bulk < 50))
        found.append(Target(f"Single hash lookup p50 ({label})", "< 3 ms", f"{single} ms", single < 3))
    if "large_file" in rows:
        large = rows["large_file"]
        size = f"{large['bytes'] / 2**30:g} GiB"
        rate, growth = large["upload_mb_per_s"], large["api_growth_mib"]
        found.append(Target(f"{size} upload rate", ">= 200 MB/s", f"{rate} MB/s", rate >= 200))
        found.append(Target(f"{size} upload server memory growth", "< 100 MiB", f"{growth} MiB", growth < 100))
    if "duplicates" in rows:
        dup = rows["duplicates"]
        speedup, marked, files = dup["speedup_files_per_s"], dup["marked_reused"], dup["second"]["files"]
        single = dup["one_at_a_time"]["speedup_p50"]
        found.append(Target("Resubmission speed-up, one file at a time (p50 answer time)", ">= 5x", f"{single}x",
                            single >= 5))
        found.append(Target("Resubmission speed-up, whole corpus at C clients (files/s)", ">= 5x", f"{speedup}x",
                            speedup >= 5))
        found.append(Target("Resubmission marked as reused in the report", "every file", f"{marked}/{files}",
                            marked == files))
    return found


def _cpu_table(row: dict[str, Any]) -> list[str]:
    """CPU milliseconds per corpus file by process role, and the rate that CPU allows on this machine."""
    s, cores = row["scanhive"], row["cores"]
    per_file = {role: sec * 1000 / s["files"] for role, sec in s["cpu_seconds"].items() if role != "others_share"}
    ours = sum(ms for role, ms in per_file.items() if role != "others")
    return [
        "",
        "| CPU per file (ms) | " + " | ".join(per_file) + " | all but others |",
        "|---|" + "---:|" * (len(per_file) + 1),
        "| ScanHive pass | " + " | ".join(f"{ms:.1f}" for ms in per_file.values()) + f" | {ours:.1f} |",
        "",
        f"{cores} cores at {ours:.1f} ms of CPU per file allow at most {cores * 1000 / ours:.0f} files/s. "
        f"clamd alone used {row['clamdscan']['clamd_cpu_ms_per_file']} ms per file under clamdscan.",
    ]


def _throughput_table(row: dict[str, Any]) -> list[str]:
    s, c, h = row["scanhive"], row["clamdscan"], row["sha256sum"]
    return [
        f"Corpus: {s['files']} files, {s['bytes'] / 1e6:.1f} MB. ScanHive: {row['clients']} concurrent clients, "
        f"{row['workers']} workers, {row['api_processes']} API process(es), default rule (all engines); "
        f"clamd loaded {row['clamd_signatures']:,} signature(s).",
        "",
        "| | files/s | MB/s | ScanHive relative |",
        "|---|---:|---:|---:|",
        f"| ScanHive HTTP API (upload, poll, fetch) | {s['files_per_s']} | {s['mb_per_s']} | 1.0x |",
        f"| `clamdscan --multiscan --fdpass`, same clamd | {c['files_per_s']} | {c['mb_per_s']} "
        f"| {row['ratio_vs_clamdscan']}x |",
        f"| `sha256sum` | {h['files_per_s']} | {h['mb_per_s']} | {row['ratio_vs_sha256sum']}x |",
        *_cpu_table(row),
    ]


def markdown(machine: dict[str, Any], command: str, started: str, rows: Rows) -> str:
    """bench/RESULTS.md: the machine, every scenario's row, and the targets."""
    code = machine["code"]
    out = [
        "# Benchmark results",
        "",
        f"Generated by `{command}` on {started} (UTC). Regenerate with the same command;",
        "see the README's Benchmarks section, and `bench/PROFILING.md` for where the time goes.",
        "",
        f"Machine: {machine['cores']} cores, {machine['cpu_model']}, {machine['memory_gib']} GiB RAM, Linux "
        f"{machine['kernel']}, Python {machine['python']}, {machine['clamd']}. Load average at start "
        f"{machine['load_average']}. Code: commit {code['commit']} with {code['uncommitted_scanhive_files']} "
        "uncommitted file(s) under scanhive/.",
        "",
        "Libraries: " + ", ".join(f"{name} {version}" for name, version in machine["libraries"].items()) + ".",
        "",
        "## Scenarios",
        "",
        "```",
        *(line(row) for row in rows.values()),
        "```",
        "",
    ]
    if "throughput" in rows:
        out += ["## Throughput, side by side", "", *_throughput_table(rows["throughput"]), ""]
    out += [
        "## Targets (issue 6, 2-core machine)",
        "",
        "| target | goal | measured | |",
        "|---|---|---|---|",
        *(f"| {t.name} | {t.goal} | {t.measured} | {'met' if t.met else '**missed**'} |" for t in targets(rows)),
        "",
        "## How it was measured",
        "",
        "- The corpus is generated from a seed (`bench/corpus.py`): text, JSON, CSV, PE32, DOCX, XLSX, PDF,",
        "  PNG and zip files, log-uniform 1 KiB..1 MiB, plus a few large files.",
        "- clamd keeps an MD5-keyed cache of clean files, so it is restarted (emptied) before every",
        "  clamdscan run and before each ScanHive pass; each raw tool's time is the median of its runs.",
        "- Latency: one client, distinct 1 KiB texts, polling GET /file every 1 ms.",
        "- Hash lookups: the rows are **seeded** straight into SQLite, each a copy of a real finished job",
        "  row (its result JSON) with its own data_id and the real hashes of a distinct content. Single",
        "  lookups cycle sha256/md5/sha1; bulk requests hold 1000 sha256, 90% known. Each kind stops",
        "  after a minute (n shows how many ran).",
        "- Large file: streamed from a generator with Content-Length; growth is the API process's VmHWM",
        "  after the upload minus its VmRSS before (VmHWM reset through /proc/PID/clear_refs); below",
        "  zero when the peak stayed under the RSS before. Just before the upload, the benchmark times",
        "  md5, sha1, sha256 and sha512 over 128 MiB on one core: ingest computes all four for every",
        "  byte, and this VM's speed at it moved by a third from minute to minute on an idle machine.",
        "- Duplicates: the throughput corpus submitted again by the same clients; speed-up is second-pass",
        "  files/s over first-pass files/s; a report counts as marked when a key naming cache/reuse is set.",
        "  One at a time: new corpus files (indexes past the corpus), each sent by one client polling",
        "  every 1 ms and then sent again; speed-up is the first sends' p50 answer time over the",
        "  resubmissions'. With every core busy the second pass is bounded by the upload itself; one",
        "  at a time shows how much sooner a resubmitted file is answered.",
        "- Every process shares the 2 cores, the benchmark client included. `[others N% CPU]` is the",
        "  share of the machine's CPU that processes outside the benchmark used during a scenario",
        "  (from /proc/stat, kernel threads such as page-cache writeback included); a high share",
        "  means that row is pessimistic.",
        "",
    ]
    return "\n".join(out)
