"""`python -m bench.events`: how fast committed changes reach the domain-event queue.

The stack of `python -m bench` (sandbox, embedded Postgres, the API in its own
process) plus a local SNS/SQS broker (moto's server, in this process) with a
queue subscribed to the topic, the API's background publisher pointed at it.
Two measurements, both with real `allocatePrimaryPom` mutations (the seeded
"allocate set" moved between two POMs), each event matched on the queue by
its prisoner and `staffCode`:

1. **Throughput**: `--events` reallocations as fast as `--concurrency`
   connections allow; events per second from the first commit (the mutation's
   answer) to the last arrival on the queue, and the delay of each event from
   its commit to its arrival.
2. **Under load**: wrk runs the `prisonPage` operation for `--duration-s`
   while one reallocation is committed every `--interval-ms`; the delay from
   commit to arrival (p50, p99, max) and the page throughput beside it.

The queue is read all the time (long polls, each message deleted at once):
moto's SQS scans the whole queue per message it returns, so a queue left to
fill measures moto. Upstream latency stays 0 here: this is about the path
from commit to queue. Only 127.0.0.1; bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from allocation_api.events.local_broker import (
    LOCAL_CREDENTIALS,
    LOCAL_REGION,
    TOPIC_NAME,
    client,
    sqs_client,
    subscribe_queue,
)
from bench.children import (
    Child,
    EmbeddedDatabase,
    api_settings,
    free_port,
    spawn,
    start_api,
    start_sandbox,
)
from bench.client import GraphQL, set_latency, user_token
from bench.load import run_wrk, wrk_path
from bench.operations import ALLOCATE, build_operations
from bench.seed import seed_prison

ALLOCATION_CHANGED = "offender-management.allocation.changed"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _delays(delays_ms: list[float]) -> dict[str, float]:
    if not delays_ms:
        return {}
    return {
        "events": len(delays_ms),
        "p50_ms": round(_percentile(delays_ms, 0.50), 1),
        "p99_ms": round(_percentile(delays_ms, 0.99), 1),
        "max_ms": round(max(delays_ms), 1),
        "mean_ms": round(statistics.fmean(delays_ms), 1),
    }


class Arrivals:
    """Reads the queue continuously; matches each allocation.changed to its commit."""

    def __init__(self, endpoint: str, queue_url: str) -> None:
        self.endpoint = endpoint
        self.queue_url = queue_url
        self.commits: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.delays_ms: list[float] = []
        self.last_arrival = 0.0
        self.unmatched = 0
        self._stop = asyncio.Event()

    def committed(self, offender_no: str, staff_id: int, at: float) -> None:
        self.commits[(offender_no, str(staff_id))].append(at)

    def pending(self) -> int:
        return sum(len(times) for times in self.commits.values())

    async def run(self) -> None:
        async with sqs_client(self.endpoint) as sqs:
            while not self._stop.is_set():
                answer = await sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                )
                now = time.perf_counter()
                messages = answer.get("Messages", [])
                if messages:
                    await sqs.delete_message_batch(
                        QueueUrl=self.queue_url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                            for i, m in enumerate(messages)
                        ],
                    )
                for message in messages:
                    envelope = orjson.loads(orjson.loads(message["Body"])["Message"])
                    if envelope["eventType"] != ALLOCATION_CHANGED:
                        continue
                    no = envelope["personReference"]["identifiers"][0]["value"]
                    staff = envelope["additionalInformation"]["staffCode"]
                    times = self.commits.get((no, staff))
                    if not times:
                        self.unmatched += 1
                        continue
                    self.delays_ms.append((now - times.pop(0)) * 1000)
                    self.last_arrival = now

    def stop(self) -> None:
        self._stop.set()

    async def wait_empty(self, timeout_s: float) -> None:
        """Until every committed event arrived (bounded)."""
        deadline = time.perf_counter() + timeout_s
        while self.pending() and time.perf_counter() < deadline:  # noqa: ASYNC110 (a bounded poll)
            await asyncio.sleep(0.05)

    async def wait_quiet(self, quiet_s: float, timeout_s: float) -> None:
        """Until nothing arrived for `quiet_s` (the seeding's events drained), bounded."""
        deadline = time.perf_counter() + timeout_s
        seen = -1
        while time.perf_counter() < deadline:
            count = len(self.delays_ms) + self.unmatched
            if count == seen:
                return
            seen = count
            await asyncio.sleep(quiet_s)


class Moves:
    """Reallocations of the seeded allocate set, alternating between its two POMs."""

    def __init__(self, gql: GraphQL, moves: list[dict[str, Any]]) -> None:
        self.gql = gql
        self.moves = moves
        self.next = 0
        self.refused = 0

    async def one(self, arrivals: Arrivals) -> None:
        variables = self.moves[self.next % len(self.moves)]
        self.next += 1
        body = await self.gql.run(ALLOCATE, variables)
        at = time.perf_counter()
        payload = body.get("data", {}).get("allocatePrimaryPom") or {}
        if payload.get("__typename") != "Allocation":
            self.refused += 1
            return
        arrivals.committed(variables["input"]["offenderNo"], variables["input"]["staffId"], at)


async def _throughput(moves: Moves, arrivals: Arrivals, events: int, concurrency: int) -> Any:
    started = time.perf_counter()
    first = len(arrivals.delays_ms)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(events):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            await moves.one(arrivals)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    committed = time.perf_counter()
    await arrivals.wait_empty(60)
    delivered = len(arrivals.delays_ms) - first
    span = (arrivals.last_arrival or committed) - started
    return {
        "events": events,
        "delivered": delivered,
        "refused": moves.refused,
        "commits_per_s": round(events / (committed - started), 1),
        "events_per_s_commit_to_queue": round(delivered / span, 1) if span > 0 else None,
        "delay": _delays(arrivals.delays_ms[first:]),
    }


async def _under_load(
    moves: Moves,
    arrivals: Arrivals,
    page: Any,
    token: str,
    api_url: str,
    args: argparse.Namespace,
    workdir: Path,
) -> Any:
    first = len(arrivals.delays_ms)
    stop = asyncio.Event()

    async def trickle() -> int:
        sent = 0
        while not stop.is_set():
            await moves.one(arrivals)
            sent += 1
            await asyncio.sleep(args.interval_ms / 1000)
        return sent

    writer = asyncio.create_task(trickle())
    load = await run_wrk(
        api_url,
        token,
        page.bodies,
        page.expect,
        concurrency=args.concurrency,
        duration_s=args.duration_s,
        workdir=workdir,
        name="events-prisonPage",
    )
    stop.set()
    sent = await writer
    await arrivals.wait_empty(60)
    return {
        "prison_page": {
            "rps": round(load.rps, 1),
            "p50_ms": round(load.p50_ms, 1),
            "p99_ms": round(load.p99_ms, 1),
            "failures": load.failures,
            "failure_samples": load.failure_samples[:2],
        },
        "allocations": sent,
        "delay": _delays(arrivals.delays_ms[first:]),
    }


async def _run(args: argparse.Namespace, api_url: str, urls: dict[str, str], broker: Any) -> Any:
    workdir = Path(args.workdir)
    queue_url = await subscribe_queue(broker.endpoint, broker.topic_arn, "bench-events")
    arrivals = Arrivals(broker.endpoint, queue_url)
    reader = asyncio.create_task(arrivals.run())
    try:
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            token = await user_token(
                session,
                urls["hmpps-auth"],
                username="SPO_BENCH",
                roles=["ROLE_ALLOC_MGR"],
                caseloads=[args.prison],
            )
            gql = GraphQL(session, api_url, token)
            await set_latency(session, urls, 0)
            _say("seeding through the API...")
            seed = await seed_prison(
                gql, session, urls["prison-api"], args.prison, concurrency=args.concurrency
            )
            operations = build_operations(seed)
            moves = Moves(gql, operations["allocate"].variables)
            _say("waiting for the seeding's own events to drain...")
            await arrivals.wait_quiet(3.0, 180)
            arrivals.delays_ms.clear()
            arrivals.unmatched = 0
            _say(f"throughput: {args.events} reallocations...")
            throughput = await _throughput(moves, arrivals, args.events, args.concurrency)
            _say(f"  {json.dumps(throughput)}")
            _say(
                f"under load: prisonPage for {args.duration_s:.0f} s, "
                f"a reallocation every {args.interval_ms} ms..."
            )
            loaded = await _under_load(
                moves, arrivals, operations["prisonPage"], token, api_url, args, workdir
            )
            _say(f"  {json.dumps(loaded)}")
            return {
                "throughput": throughput,
                "under_prison_page_load": loaded,
                "unmatched_arrivals": arrivals.unmatched,
                "publish_interval_s": args.publish_interval_s,
            }
    finally:
        arrivals.stop()
        await asyncio.wait_for(reader, 10)


@dataclass
class Broker:
    """moto's server in a process of its own (its CPU is not the harness's or the API's)."""

    child: Child
    endpoint: str
    topic_arn: str


def start_broker(workdir: Path) -> Broker:
    port = free_port()
    child = spawn(
        "moto",
        "moto.server",
        ["-H", "127.0.0.1", "-p", str(port)],
        workdir / "moto.log",
        capture=False,
    )
    endpoint = f"http://127.0.0.1:{port}"

    async def topic() -> str:
        deadline = time.perf_counter() + 60
        while True:
            try:
                async with client("sns", endpoint) as sns:
                    return str((await sns.create_topic(Name=TOPIC_NAME))["TopicArn"])
            except Exception:
                if time.perf_counter() > deadline or not child.alive():
                    raise
                await asyncio.sleep(0.2)

    try:
        return Broker(child, endpoint, asyncio.run(topic()))
    except BaseException:
        child.stop()
        raise


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__)
    add = parser.add_argument
    add("--prisoners", type=int, default=600, help="prisoners in the prison (default 600)")
    add("--poms", type=int, default=20, help="POMs in the prison (default 20)")
    add("--prison", default="LEI")
    add("--seed", type=int, default=42)
    add("--events", type=int, default=400, help="reallocations in the throughput run")
    add("--concurrency", type=int, default=8, help="connections (writes, and wrk)")
    add("--duration-s", type=float, default=15, help="prisonPage load duration")
    add("--interval-ms", type=int, default=100, help="pause between writes under load")
    add(
        "--publish-interval-s",
        type=float,
        default=0.5,
        help="the API's EVENTS_PUBLISH_INTERVAL_S (default 0.5, the setting's default)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if wrk_path() is None:
        _say("wrk is needed (apt-get install wrk)")
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="allocation-bench-events-"))
    args.workdir = str(workdir)
    children: list[Child] = []
    database: EmbeddedDatabase | None = None
    try:
        broker = start_broker(workdir)
        children.append(broker.child)
        sandbox, urls = start_sandbox(
            workdir, prisons=args.prison, prisoners=args.prisoners, poms=args.poms, seed=args.seed
        )
        children.append(sandbox)
        database = EmbeddedDatabase(workdir / "postgres")
        database_url = database.start_migrated()
        settings = api_settings(
            database_url,
            urls,
            events_topic_arn=broker.topic_arn,
            events_sns_endpoint_url=broker.endpoint,
            events_aws_region=LOCAL_REGION,
            events_aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
            events_aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
            events_publish_interval_s=args.publish_interval_s,
        )
        api, api_url = start_api(workdir, settings, profile=False)
        children.append(api)
        results = asyncio.run(_run(args, api_url, urls, broker))
        results["command"] = " ".join(["python -m bench.events", *(argv or sys.argv[1:])])
        print(json.dumps(results, indent=2))
        return 0
    finally:
        for child in reversed(children):
            child.stop()
        if database is not None:
            database.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
