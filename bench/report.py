"""The printed table and the JSON file of one run (bench/results/<timestamp>.json).

The JSON holds every number the table shows and more (probe call counts,
latency means and maxima, CPU of Postgres and the sandbox, seeding details,
environment), so two runs can be compared without re-running either.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from bench.children import PROJECT_ROOT

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
_PACKAGES = (
    "strawberry-graphql",
    "graphql-core",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "sqlalchemy",
    "sqlmodel",
    "asyncpg",
    "aiohttp",
    "orjson",
)


def environment() -> dict[str, Any]:
    """What the numbers depend on besides the code: machine, interpreter, libraries."""
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "cpu_model": _cpu_model(),
        "memory_total_mib": round(psutil.virtual_memory().total / 2**20),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
        "wrk": _wrk_version(),
        "git": _git(),
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _wrk_version() -> str | None:
    binary = shutil.which("wrk")
    if binary is None:
        return None
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=5, check=False)
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else "wrk"


def _git() -> dict[str, Any] | None:
    """The commit measured, and whether the tree had local changes (read-only git calls)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head, "dirty": bool(dirty)}


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(operations: dict[str, dict[str, Any]]) -> str:
    """One row per operation."""
    header = (
        f"{'operation':<11} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} "
        f"{'fail':>5} {'upstr/op':>9} {'(sandbox)':>9} {'SQL/op':>7} "
        f"{'API CPU':>8} {'PG CPU':>7} {'sbox CPU':>8}"
    )
    units = f"{'':<11} {'':>8} {'':>8} {'':>8} {'':>9} {'':>5} {'':>9} {'':>9} {'':>7} " + (
        f"{'ms/op':>8} {'ms/op':>7} {'ms/op':>8}"
    )
    lines = [header, units, "-" * len(header)]
    for name, op in operations.items():
        load = op["load"]
        lines.append(
            f"{name:<11} {load['rps']:>8.1f} {load['p50_ms']:>8.1f} {load['p99_ms']:>8.1f} "
            f"{load['requests']:>9} {load['failures']:>5} "
            f"{_fmt(load['upstream_per_op'], 2):>9} {_fmt(op['sandbox_requests_per_op'], 2):>9} "
            f"{_fmt(load['store_per_op'], 2):>7} {_fmt(op['api_cpu_ms_per_op'], 2):>8} "
            f"{_fmt(op['postgres_cpu_ms_per_op'], 2):>7} {_fmt(op['sandbox_cpu_ms_per_op'], 2):>8}"
        )
    return "\n".join(lines)


def summary_lines(results: dict[str, Any]) -> list[str]:
    """The lines printed under the table: floor, ratio, memory, probe counts, setup."""
    out: list[str] = []
    ops = results["operations"]
    probes = ", ".join(
        f"{name} {op['probe']['calls']['upstream']}/{op['probe']['calls']['store']}"
        for name, op in ops.items()
        if op["probe"].get("calls")
    )
    out.append(f"first request of each op (upstream/SQL, caches as left by seeding): {probes}")
    floor = results.get("floor")
    if floor:
        out.append(
            f"graphql-core floor, prisonPage over in-memory dicts ({floor['nodes']} leaf values, "
            f"{floor['iterations']} runs): execute {floor['execute_ms']:.3f} ms CPU; "
            f"parse+validate+execute+encode {floor['full_ms']:.3f} ms CPU"
        )
        ratio = results.get("floor_ratio")
        if ratio:
            out.append(
                f"server CPU per prisonPage / floor: {ratio['vs_execute']:.1f}x (vs execute), "
                f"{ratio['vs_full']:.1f}x (vs parse+validate+execute+encode)"
            )
        paired = results.get("floor_pairs")
        if paired:
            each = ", ".join(
                f"{p['server_cpu_ms_per_op']:.2f}/{p['execute_ms']:.2f} ms" for p in paired["pairs"]
            )
            best = paired["best"]
            low, _, high = paired["quartiles_vs_execute"]
            out.append(
                f"paired ({len(paired['pairs'])} x a {paired['duration_s']:g} s load, then "
                f"{paired['floor_iterations']} floor executions at once): server/floor "
                f"{paired['median_vs_execute']:.2f}x vs execute (median pair; quartiles "
                f"{low:.2f}-{high:.2f}x; pooled {paired['pooled_vs_execute']:.2f}x; cheapest "
                f"load / fastest floor {paired['least_vs_least_execute']:.2f}x), "
                f"{paired['median_vs_full']:.2f}x vs parse+validate+execute+encode; "
                f"least-disturbed pair {best['vs_execute']:.2f}x / {best['vs_full']:.2f}x; "
                f"server/execute per pair: {each}"
            )
    memory = results.get("memory")
    if memory:
        out.append(
            f"memory: API RSS {memory['rss_before_mib']} MiB before, {memory['rss_after_mib']} "
            f"MiB after {memory['documents']} distinct documents "
            f"({_signed(memory['rss_growth_second_half_mib'])} MiB over the second half; "
            f"failures {memory['failures']}); "
            "checkpoints: " + " ".join(f"{m['sent']}:{m['rss_mib']}" for m in memory["checkpoints"])
        )
    profile = results.get("profile")
    if profile:
        top = ", ".join(f"{name} {share:.0f}%" for name, share in profile["packages_pct"][:8])
        out.append(f"profile ({profile['operation']}): self time by package: {top}")
        out.append(f"profile files: {profile['tree_file']} , {profile['flat_file']}")
    setup = results["setup"]
    out.append(
        f"setup: {setup['prisoners_per_prison']} prisoners x {setup['poms_per_prison']} POMs at "
        f"{setup['prison']} ({results['seed']['listed_prisoners']} listed, "
        f"{results['seed']['case_information']} case info, "
        f"{results['seed']['allocated_primary']} allocated, seeded in "
        f"{results['seed']['seconds']} s); upstream latency {setup['latency_ms']} ms; "
        f"{setup['concurrency']} connections x {setup['duration_s']} s per op; "
        f"load tool {setup['load_tool']}"
    )
    others = [
        (op["other_processes_cores"], name)
        for name, op in ops.items()
        if op.get("other_processes_cores") is not None
    ]
    if others:
        mean = sum(v for v, _ in others) / len(others)
        peak, where = max(others)
        out.append(
            f"CPU used by processes outside the benchmark during the loads: mean {mean:.2f} "
            f"cores, max {peak:.2f} ({where}); load average at start/end "
            f"{results.get('load_average_start')} / {results.get('load_average_end')}"
        )
    env = results["environment"]
    out.append(
        f"environment: {env['cpu_count']} CPUs ({env['cpu_model']}), Python {env['python']}, "
        f"API idle CPU {_fmt(results.get('api_idle_cpu_ms_per_s'), 2)} ms/s"
    )
    return out


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def write_results(results: dict[str, Any], stamp: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{stamp}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return path
