"""`python -m bench`: orchestrate one benchmark run from start to clean shutdown.

Order of a run: sandbox process (latency 0) and embedded Postgres in a temp
dir; migrations; the API process; seeding through the API; the upstream
latency injected; per operation a probe request, a short warm-up and the
measured load, with CPU time of the API (and of Postgres and the sandbox)
read before and after; the graphql-core floor; the optional profile run;
the memory sub-test; the table and the JSON file. Children are stopped and
the temp dir removed in every case (try/finally; SIGTERM becomes SystemExit
so the finally runs).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import psutil

from bench import report
from bench.children import (
    PROJECT_ROOT,
    Child,
    CpuMeter,
    EmbeddedDatabase,
    api_settings,
    start_api,
    start_sandbox,
)
from bench.client import (
    BenchError,
    GraphQL,
    reset_sandbox_requests,
    sandbox_requests,
    set_latency,
    user_token,
)
from bench.floor import Floor, measure_floor
from bench.load import LoadResult, run_python, run_wrk, wrk_path
from bench.memory import distinct_documents
from bench.operations import OPERATION_NAMES, Operation, build_operations
from bench.seed import seed_prison

_DEFAULTS = {
    "latency_ms": 20,
    "prisoners": 2000,
    "poms": 30,
    "duration_s": 10.0,
    "concurrency": 8,
    "memory_docs": 10_000,
    "floor_iterations": 1000,
    "floor_pairs": 12,
    "pair_duration_s": 1.0,
    "pair_floor_iterations": 400,
}
_QUICK = {
    "prisoners": 300,
    "poms": 10,
    "duration_s": 2.0,
    "memory_docs": 3000,
    "floor_iterations": 100,
    "floor_pairs": 2,
    "pair_duration_s": 1.0,
    "pair_floor_iterations": 100,
}
_SETTLE_S = 0.3  # let requests in flight at the end of a run finish before reading CPU


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the Allocation API against the sandbox upstreams (loopback only).",
    )
    add = parser.add_argument
    add("--latency-ms", type=int, help="upstream latency per request (default 20)")
    add("--prisoners", type=int, help="prisoners in the measured prison (default 2000)")
    add("--poms", type=int, help="POMs in the measured prison (default 30)")
    add("--duration-s", type=float, help="load duration per operation (default 10)")
    add("--concurrency", type=int, help="connections in flight (default 8)")
    add("--quick", action="store_true", help="tiny sizes and 2 s runs: a smoke test")
    add("--prison", default="LEI", help="the measured prison (default LEI)")
    add("--seed", type=int, default=42, help="sandbox data seed")
    add("--ops", default=",".join(OPERATION_NAMES), help="comma-separated operations to run")
    add("--python-client", action="store_true", help="use the aiohttp client even if wrk exists")
    add(
        "--profile",
        nargs="?",
        const="prisonPage",
        choices=OPERATION_NAMES,
        help="one extra load run of OP (default prisonPage) under pyinstrument",
    )
    add("--memory-docs", type=int, help="distinct documents in the memory test (default 10000)")
    add("--floor-iterations", type=int, help="graphql-core floor executions (default 1000)")
    add(
        "--floor-pairs",
        type=int,
        help="paired ratio: prisonPage loads each followed at once by the floor (default 12)",
    )
    add("--pair-duration-s", type=float, help="load duration of each pair (default 1)")
    add(
        "--pair-floor-iterations",
        type=int,
        help="graphql-core executions of each pair's floor, one round (default 400, about 1 s)",
    )
    add(
        "--api-setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra API setting, e.g. cache_ttl_prisoners_s=0 (repeatable)",
    )
    args = parser.parse_args(argv)
    for key, default in _DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, _QUICK.get(key, default) if args.quick else default)
    unknown = set(args.ops.split(",")) - set(OPERATION_NAMES)
    if unknown:
        parser.error(f"unknown operation(s): {', '.join(sorted(unknown))}")
    if args.concurrency < 1 or args.duration_s <= 0 or args.prisoners < 10:
        parser.error("--concurrency >= 1, --duration-s > 0 and --prisoners >= 10 please")
    return args


def _api_overrides(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--api-setting wants KEY=VALUE, got {pair!r}")
        out[key.strip().lower().removeprefix("allocation_api_")] = value
    return out


@dataclass
class Meters:
    """CPU seconds of each component, of this harness (with wrk, once reaped) and of the machine.

    The machine's busy time minus all of ours is what *other* processes
    used: on a shared box (a test run next door) that explains noisy
    throughput, while CPU per operation stays comparable.
    """

    api: CpuMeter
    postgres: CpuMeter
    sandbox: CpuMeter

    def read(self) -> dict[str, float | None]:
        own = resource.getrusage(resource.RUSAGE_SELF)
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        machine = psutil.cpu_times()
        idle = machine.idle + getattr(machine, "iowait", 0.0)
        return {
            "api": self.api.seconds(),
            "postgres": self.postgres.seconds(),
            "sandbox": self.sandbox.seconds(),
            "harness": own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime,
            "machine_busy": sum(machine) - idle,
        }


def _other_cores(
    before: dict[str, float | None], after: dict[str, float | None], wall: float
) -> float | None:
    """Average cores used by processes outside the benchmark during a window."""
    total = 0.0
    for key in ("api", "postgres", "sandbox", "harness"):
        b, a = before[key], after[key]
        if b is None or a is None:
            return None
        total += a - b
    busy_b, busy_a = before["machine_busy"], after["machine_busy"]
    if busy_b is None or busy_a is None or wall <= 0:
        return None
    return max(0.0, (busy_a - busy_b - total) / wall)


def _per_op(before: float | None, after: float | None, n: int) -> float | None:
    if before is None or after is None or n <= 0:
        return None
    return (after - before) / n * 1000


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Runner:
    """The async part of a run: everything that talks HTTP."""

    def __init__(
        self,
        args: argparse.Namespace,
        api_url: str,
        sandbox_urls: dict[str, str],
        meters: Meters,
        workdir: Path,
        stamp: str,
    ) -> None:
        self.args = args
        self.api_url = api_url
        self.urls = sandbox_urls
        self.meters = meters
        self.workdir = workdir
        self.stamp = stamp
        self.use_wrk = wrk_path() is not None and not args.python_client

    async def load(self, gql: GraphQL, op: Operation, duration_s: float) -> LoadResult:
        if self.use_wrk:
            return await run_wrk(
                self.api_url,
                gql.token,
                op.bodies,
                op.expect,
                concurrency=self.args.concurrency,
                duration_s=duration_s,
                workdir=self.workdir,
                name=op.name,
            )
        return await run_python(
            self.api_url,
            gql.token,
            op.bodies,
            op.expect,
            concurrency=self.args.concurrency,
            duration_s=duration_s,
        )

    async def measure_op(
        self, session: aiohttp.ClientSession, gql: GraphQL, op: Operation
    ) -> dict[str, Any]:
        """Probe (validates the op, keeps one response), warm up, then the measured load."""
        probe = await gql.run_body(op.bodies[0])
        if op.expect and op.expect.encode() not in orjson.dumps(probe):
            raise BenchError(f"{op.name}: unexpected probe response {orjson.dumps(probe)[:400]!r}")
        op.rotate(1)
        warmup = 2 * self.args.concurrency + 8
        warm = await run_python(
            self.api_url,
            gql.token,
            op.bodies,
            op.expect,
            concurrency=self.args.concurrency,
            duration_s=30,
            max_requests=warmup,
        )
        if warm.failures:
            raise BenchError(
                f"{op.name}: {warm.failures} failures during warm-up: {warm.failure_samples}"
            )
        op.rotate(warm.sent)

        await reset_sandbox_requests(session, self.urls)
        before = self.meters.read()
        started = time.perf_counter()
        result = await self.load(gql, op, self.args.duration_s)
        await asyncio.sleep(_SETTLE_S)
        wall = time.perf_counter() - started
        after = self.meters.read()
        upstream_total = await sandbox_requests(session, self.urls)
        op.rotate(result.sent)
        n = result.requests
        api_before, api_after = before["api"], after["api"]
        measured = {
            "probe": {
                "calls": probe.get("extensions", {}).get("calls"),
                "response_bytes": len(orjson.dumps(probe)),
            },
            "load": result.as_dict(),
            "sandbox_requests_per_op": upstream_total / n if n else None,
            "api_cpu_ms_per_op": _per_op(api_before, api_after, n),
            "postgres_cpu_ms_per_op": _per_op(before["postgres"], after["postgres"], n),
            "sandbox_cpu_ms_per_op": _per_op(before["sandbox"], after["sandbox"], n),
            "other_processes_cores": _other_cores(before, after, wall),
            "api_cpu_utilisation": (
                (api_after - api_before) / wall
                if api_before is not None and api_after is not None
                else None
            ),
        }
        _say(
            f"  {op.name}: {result.rps:.1f} req/s, p50 {result.p50_ms:.1f} ms, "
            f"p99 {result.p99_ms:.1f} ms, {result.failures} failures, API CPU "
            f"{measured['api_cpu_ms_per_op'] or 0:.2f} ms/op"
        )
        for sample in result.failure_samples:
            _say(f"    failure: {sample[:400]}")
        measured["_data"] = probe.get("data")
        return measured

    async def idle_cpu(self) -> float | None:
        """API CPU ms per second while nothing is asked of it (background work, if any)."""
        before = self.meters.api.seconds()
        await asyncio.sleep(1.0)
        after = self.meters.api.seconds()
        return None if before is None or after is None else (after - before) * 1000

    async def profile(self, session: aiohttp.ClientSession, gql: GraphQL, op: Operation) -> Any:
        """One more load run of `op` with pyinstrument sampling the API's event loop thread."""
        # Control requests close their connection: a pooled one may have idled past
        # uvicorn's keep-alive timeout during the load and be reset on reuse.
        close = {"Connection": "close"}
        async with session.post(f"{self.api_url}/__bench/profile/start", headers=close) as response:
            await response.read()
        result = await self.load(gql, op, self.args.duration_s)
        op.rotate(result.sent)
        async with session.post(f"{self.api_url}/__bench/profile/stop", headers=close) as response:
            body: dict[str, Any] = await response.json()
        if "tree" not in body:
            raise BenchError(f"profile: {body}")
        report.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        tree_file = report.RESULTS_DIR / f"{self.stamp}-profile-{op.name}.txt"
        flat_file = report.RESULTS_DIR / f"{self.stamp}-profile-{op.name}-flat.txt"
        tree_file.write_text(body["tree"])
        flat_file.write_text(body["flat"])
        total = sum(seconds for _, seconds in body["packages"]) or 1.0
        return {
            "operation": op.name,
            "requests": result.requests,
            "rps_under_profiler": result.rps,
            "duration_s": body["duration_s"],
            "cpu_time_s": body["cpu_time_s"],
            "samples": body["sample_count"],
            "packages_pct": [(name, s / total * 100) for name, s in body["packages"][:25]],
            "tree_file": str(tree_file.relative_to(PROJECT_ROOT)),
            "flat_file": str(flat_file.relative_to(PROJECT_ROOT)),
        }

    async def floor_pairs(self, gql: GraphQL, op: Operation, page: Any) -> dict[str, Any]:
        """The server/floor ratio from many short pairs, each a load then the floor.

        The machine's speed drifts within seconds: under a steady load the
        server's CPU per page moved between 2.8 and 6.5 ms from one half-second
        to the next (a CPU-bound server: its throughput moved the other way), so
        a floor measured a minute, or even ten seconds, after a load compares
        two different machines. Here each pair is a short load (about a second)
        followed at once by about a second of the floor, both read the same way
        (one mean each, no best-of), and the median pair's ratio is the number
        to quote. Also given: the pooled ratio (all pairs' server CPU over all
        their requests, against all their floor executions).
        """
        floor = Floor(op.query, dict(op.variables[0]), page)
        iterations = self.args.pair_floor_iterations
        pairs: list[dict[str, float]] = []
        server_s = requests = 0.0
        floor_ms = 0.0
        for _ in range(self.args.floor_pairs):
            before = self.meters.api.seconds()
            result = await self.load(gql, op, self.args.pair_duration_s)
            await asyncio.sleep(_SETTLE_S)
            after = self.meters.api.seconds()
            op.rotate(result.sent)
            if before is None or after is None or not result.requests or result.failures:
                raise BenchError(f"paired ratio: unusable load ({result.failures} failures)")
            server = (after - before) * 1000 / result.requests
            execute = floor.execute_ms(iterations, rounds=1)
            full = floor.full_ms(max(1, iterations // 4), rounds=1)
            server_s += after - before
            requests += result.requests
            floor_ms += execute
            pairs.append(
                {
                    "server_cpu_ms_per_op": server,
                    "requests": result.requests,
                    "execute_ms": execute,
                    "full_ms": full,
                    "vs_execute": server / execute,
                    "vs_full": server / full,
                }
            )
        ratios = sorted(p["vs_execute"] for p in pairs)
        return {
            "pairs": pairs,
            "duration_s": self.args.pair_duration_s,
            "floor_iterations": iterations,
            "median_vs_execute": statistics.median(ratios),
            "median_vs_full": statistics.median(p["vs_full"] for p in pairs),
            "quartiles_vs_execute": (
                statistics.quantiles(ratios, n=4, method="inclusive")
                if len(ratios) > 1
                else ratios * 3
            ),
            "pooled_vs_execute": (server_s * 1000 / requests) / (floor_ms / len(pairs)),
            # Each side at its least disturbed: the cheapest load window against the
            # fastest floor round (from any pair).
            "least_vs_least_execute": min(p["server_cpu_ms_per_op"] for p in pairs)
            / min(p["execute_ms"] for p in pairs),
            # The pair whose load cost least, read as the floor itself is (the best
            # of its rounds, as `timeit` advises): the least disturbed window.
            "best": min(pairs, key=lambda p: p["server_cpu_ms_per_op"]),
        }

    async def run(self) -> dict[str, Any]:
        args = self.args
        results: dict[str, Any] = {}
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            token = await user_token(
                session,
                self.urls["hmpps-auth"],
                username="SPO_BENCH",
                roles=["ROLE_ALLOC_MGR"],
                caseloads=[args.prison],
            )
            gql = GraphQL(session, self.api_url, token)
            await set_latency(session, self.urls, 0)
            _say(f"seeding {args.prison} through the API (upstream latency 0)...")
            seed = await seed_prison(
                gql,
                session,
                self.urls["prison-api"],
                args.prison,
                concurrency=args.concurrency,
            )
            results["seed"] = seed.summary()
            await set_latency(session, self.urls, args.latency_ms)
            _say(f"upstream latency now {args.latency_ms} ms; measuring...")
            operations = build_operations(seed)
            results["api_idle_cpu_ms_per_s"] = await self.idle_cpu()
            measured: dict[str, Any] = {}
            for name in args.ops.split(","):
                measured[name] = await self.measure_op(session, gql, operations[name])
            data = {name: m.pop("_data") for name, m in measured.items()}
            results["operations"] = measured

            page = data.get("prisonPage")
            if page is None:  # prisonPage not selected: still fetch one response for the floor
                page = (await gql.run_body(operations["prisonPage"].bodies[0]))["data"]
            _say("graphql-core floor...")
            floor = measure_floor(
                operations["prisonPage"].query,
                dict(operations["prisonPage"].variables[0]),
                page,
                args.floor_iterations,
            )
            results["floor"] = floor.as_dict()
            server = measured.get("prisonPage", {}).get("api_cpu_ms_per_op")
            if server:
                results["floor_ratio"] = {
                    "server_cpu_ms_per_op": server,
                    "vs_execute": server / floor.execute_ms,
                    "vs_full": server / floor.full_ms,
                }

            if server and args.floor_pairs > 0:
                _say(f"paired ratio: {args.floor_pairs} x (prisonPage load, then the floor)...")
                results["floor_pairs"] = await self.floor_pairs(gql, operations["prisonPage"], page)

            _say(f"memory: {args.memory_docs} distinct documents...")
            results["memory"] = await distinct_documents(
                gql,
                self.meters.api.rss_bytes,
                count=args.memory_docs,
                concurrency=args.concurrency,
            )

            if args.profile:
                _say(f"profiling {args.profile} (extra run, not in the table)...")
                results["profile"] = await self.profile(session, gql, operations[args.profile])
        return results


def _run_async(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when every request succeeded, 1 on failures or errors."""
    args = parse_args(argv)
    overrides = _api_overrides(args.api_setting)
    signal.signal(signal.SIGTERM, _terminate)
    # A shell starting us in the background may have SIGINT ignored; a stop request
    # must still stop the run (asyncio then cancels the main task cleanly).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="allocation-bench-"))
    children: list[Child] = []
    database: EmbeddedDatabase | None = None
    started = time.perf_counter()
    load_start = [round(x, 2) for x in os.getloadavg()]
    try:
        _say(f"sandbox: {args.prisoners} prisoners, {args.poms} POMs at {args.prison}...")
        sandbox, urls = start_sandbox(
            workdir,
            prisons=args.prison,
            prisoners=args.prisoners,
            poms=args.poms,
            seed=args.seed,
        )
        children.append(sandbox)
        _say("embedded Postgres and migrations...")
        database = EmbeddedDatabase(workdir / "postgres")
        database_url = database.start_migrated()
        settings = api_settings(database_url, urls, **overrides)
        api, api_url = start_api(workdir, settings, profile=args.profile is not None)
        children.append(api)
        _say(f"API (pid {api.pid}) at {api_url}")
        meters = Meters(
            api=CpuMeter(api.pid),
            postgres=CpuMeter(database.postmaster_pid(), tree=True),
            sandbox=CpuMeter(sandbox.pid),
        )
        runner = Runner(args, api_url, urls, meters, workdir, stamp)
        try:
            results = _run_async(runner.run())
        except Exception:
            for child in children:
                _say(f"--- {child.name} log (tail) ---\n{child.log_tail()}")
            raise
        results["setup"] = {
            "prison": args.prison,
            "prisoners_per_prison": args.prisoners,
            "poms_per_prison": args.poms,
            "latency_ms": args.latency_ms,
            "duration_s": args.duration_s,
            "concurrency": args.concurrency,
            "quick": args.quick,
            "load_tool": "wrk" if runner.use_wrk else "python (aiohttp)",
            "api_settings": {
                k: v for k, v in settings.items() if not k.endswith("_url") and k != "client_secret"
            },
            "command": " ".join(["python -m bench", *(argv or sys.argv[1:])]),
            "total_seconds": round(time.perf_counter() - started, 1),
        }
        results["environment"] = report.environment()
        results["load_average_start"] = load_start
        results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        path = report.write_results(results, stamp)
        print()
        print(report.table(results["operations"]))
        print()
        for line in report.summary_lines(results):
            print(line)
        print(f"results: {path.relative_to(PROJECT_ROOT)}")
        failures = sum(op["load"]["failures"] for op in results["operations"].values())
        failures += results["memory"]["failures"]
        return 1 if failures else 0
    except BenchError as error:
        _say(f"benchmark failed: {error}")
        return 1
    except KeyboardInterrupt:
        _say("interrupted: stopping the API, the sandbox and Postgres")
        return 130
    finally:
        for child in reversed(children):
            child.stop()
        if database is not None:
            database.stop()
        shutil.rmtree(workdir, ignore_errors=True)
