"""Postgres restarts under load: in-flight requests fail cleanly, readiness follows the
database, the service recovers by itself, and nothing is lost or half-written.

A DEDICATED embedded Postgres is started for this module (never the session's
shared server), migrated, and an API instance runs on it. Writers send
allocations with a fresh idempotency key each, readers read owned data, and the
server is restarted underneath them: once with a fast shutdown (what a planned
restart or failover does) and once killed outright (SIGQUIT: immediate shutdown,
crash recovery on start).

Then every request that got no typed answer is retried with its key, as a client
should, and the store is audited straight from Postgres: each prisoner's row
equals its last event, versions run 1..n, and the events are exactly the keys
that finally answered `Allocation`, so a commit whose answer was lost in the
restart is found by its retry, never written twice.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from allocation_api.sandbox import Sandbox
from allocation_api.store.embedded import EmbeddedPostgres
from allocation_api.store.migrate import run_migrations
from allocation_api.store.testing import directory_for_test_server
from tests.conftest import RunningApi, running_api, settings_for
from tests.e2e.resilience.conftest import FAST_FAILING
from tests.e2e.resilience.support import (
    ALLOCATE,
    Candidate,
    assert_clean_body,
    candidates,
    store_audit,
)

pytestmark = pytest.mark.slow

WRITERS = 6
READERS = 2
PRISONERS = 3
MAX_REQUESTS_PER_CLIENT = 150  # a hard bound whatever the timings
REQUEST_TIMEOUT_S = 10.0
LOAD_BEFORE_S = 0.4
DOWN_FOR_S = 0.4
LOAD_AFTER_S = 0.6
READY_WITHIN_S = 15.0
BACKOFF_S = 0.025
MAX_BACKOFF_S = 0.4
RETRY_CONCURRENCY = 8

READ = """query($no: String!) { prisoner(offenderNo: $no) {
  offenderNo allocation { version primaryPomStaffId history { allocationVersion } } } }"""


@dataclass
class Dedicated:
    server: EmbeddedPostgres
    url: str


@pytest.fixture(scope="module")
async def dedicated_pg() -> AsyncIterator[Dedicated]:
    # Made like the test helper's own servers (store/testing.py): if this process
    # is killed, the next test run finds the leftover and stops it; while it runs,
    # no other test process takes the server it stops on purpose for abandoned.
    data_dir = directory_for_test_server()
    server = EmbeddedPostgres(data_dir, database="restart")
    try:
        url = await asyncio.to_thread(server.start)
        await run_migrations(url)
        yield Dedicated(server, url)
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
async def restart_api(box: Sandbox, dedicated_pg: Dedicated) -> AsyncIterator[RunningApi]:
    settings = settings_for(
        box,
        dedicated_pg.url,
        **FAST_FAILING,
        breaker_failure_threshold=1_000_000,
        db_pool_timeout_s=1.0,
    )
    async with running_api(settings, box) as api:
        yield api


@dataclass
class Write:
    case: Candidate
    variables: dict[str, Any]
    first: dict[str, Any]
    final: dict[str, Any] | None = None


@dataclass
class Load:
    writes: list[Write] = field(default_factory=list)
    reads: list[dict[str, Any]] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)


async def _post(api: RunningApi, query: str, variables: dict[str, Any]) -> tuple[int, Any]:
    async with asyncio.timeout(REQUEST_TIMEOUT_S):
        return await api.post({"query": query, "variables": variables}, token=await api.token())


def _typed(body: dict[str, Any]) -> dict[str, Any] | None:
    """The mutation's payload when the answer is definite (no error anywhere), else None."""
    if body.get("errors") or not body.get("data"):
        return None
    return body["data"]["allocatePrimaryPom"]  # type: ignore[no-any-return]


async def _run_load(
    api: RunningApi, cases: list[Candidate], stop: asyncio.Event, load: Load
) -> None:
    # Clients back off exponentially while failing (a failing store answers at
    # once), as real ones do; this also bounds the requests of a long outage.
    async def writer(n: int) -> None:
        failures = 0
        for i in range(MAX_REQUESTS_PER_CLIENT):
            if stop.is_set():
                return
            case = cases[(n + i) % len(cases)]
            pom = case.poms[(n + i) % len(case.poms)]
            variables = {"input": case.input_for(pom, idempotencyKey=f"restart-{uuid.uuid4()}")}
            status, body = await _post(api, ALLOCATE, variables)
            load.statuses[status] += 1
            load.writes.append(Write(case, variables, body))
            failures = 0 if _typed(body) is not None else failures + 1
            if failures:
                await asyncio.sleep(min(BACKOFF_S * 2**failures, MAX_BACKOFF_S))

    async def reader(n: int) -> None:
        failures = 0
        for i in range(MAX_REQUESTS_PER_CLIENT):
            if stop.is_set():
                return
            case = cases[(n + i) % len(cases)]
            status, body = await _post(api, READ, {"no": case.offender_no})
            load.statuses[status] += 1
            load.reads.append(body)
            failures = failures + 1 if body.get("errors") else 0
            await asyncio.sleep(min(BACKOFF_S * 2**failures, MAX_BACKOFF_S))

    await asyncio.gather(*(writer(n) for n in range(WRITERS)), *(reader(n) for n in range(READERS)))


async def _readiness(api: RunningApi) -> tuple[int, dict[str, Any]]:
    async with api.http.get(f"{api.url}/health/readiness") as response:
        return response.status, await response.json()


async def _health_db(api: RunningApi) -> str:
    headers = {"Authorization": f"Bearer {await api.token()}"}
    async with api.http.get(f"{api.url}/health", headers=headers) as response:
        return str((await response.json())["components"]["db"]["status"])


def _postmaster_pid(server: EmbeddedPostgres) -> int:
    return int((server.pgdata / "postmaster.pid").read_text().split()[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def _fast_stop(server: EmbeddedPostgres) -> None:
    await asyncio.to_thread(server.stop)  # pg_ctl stop: fast mode, sessions terminated


async def _kill(server: EmbeddedPostgres) -> None:
    pid = _postmaster_pid(server)
    os.kill(pid, signal.SIGQUIT)  # immediate shutdown: no checkpoint, crash recovery on start
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, "postmaster did not exit after SIGQUIT"
        await asyncio.sleep(0.05)
    await asyncio.to_thread(server.stop)  # forget the handle; the server is already gone


async def _restart_under_load(
    api: RunningApi, pg: Dedicated, stop_server: Callable[[EmbeddedPostgres], Awaitable[None]]
) -> None:
    cases = await candidates(api, PRISONERS)
    assert (await _readiness(api))[0] == 200
    stop = asyncio.Event()
    load = Load()
    traffic = asyncio.create_task(_run_load(api, cases, stop, load))
    try:
        await asyncio.sleep(LOAD_BEFORE_S)
        await stop_server(pg.server)

        # Down: readiness and /health say so, and requests keep failing cleanly.
        status, body = await _readiness(api)
        assert (status, body) == (503, {"status": "DOWN"})
        assert await _health_db(api) == "DOWN"
        await asyncio.sleep(DOWN_FOR_S)
        during = len(load.writes)

        await asyncio.to_thread(pg.server.start)
        deadline = time.monotonic() + READY_WITHIN_S
        while (await _readiness(api))[0] != 200:
            assert time.monotonic() < deadline, "readiness never came back after the restart"
            await asyncio.sleep(0.05)
        assert await _health_db(api) == "UP"
        await asyncio.sleep(LOAD_AFTER_S)
    finally:
        stop.set()
        await traffic

    # What clients saw: never a 500, always JSON with a code; the only error is the store's.
    assert set(load.statuses) == {200}, load.statuses
    for body in [w.first for w in load.writes] + load.reads:
        assert_clean_body(body)
        assert {e["extensions"]["code"] for e in body.get("errors", [])} <= {"STORE_UNAVAILABLE"}
    failed_writes = [w for w in load.writes if _typed(w.first) is None]
    failed_reads = [r for r in load.reads if r.get("errors")]
    assert failed_writes, "the restart hit no request in flight: the test proved nothing"
    assert any(_typed(w.first) is not None for w in load.writes[during:]), "no recovery"

    # Clients retry what got no typed answer, with the same idempotency key.
    events_before_retries = (await store_audit(pg.url, [c.offender_no for c in cases])).events
    slots = asyncio.Semaphore(RETRY_CONCURRENCY)

    async def settle(write: Write) -> None:
        write.final = _typed(write.first)
        for _attempt in range(3):
            if write.final is not None:
                break
            async with slots:
                status, body = await _post(api, ALLOCATE, write.variables)
            assert status == 200
            assert_clean_body(body)
            write.final = _typed(body)
        assert write.final is not None, f"a retry never got a typed answer: {write.variables}"
        assert write.final["__typename"] in {"Allocation", "NotAllowedError"}, write.final

    await asyncio.gather(*(settle(write) for write in load.writes))

    # The audit, straight from Postgres.
    audit = await store_audit(pg.url, [c.offender_no for c in cases])
    assert audit.mismatches == []
    allocated = [w for w in load.writes if w.final and w.final["__typename"] == "Allocation"]
    assert audit.events == len(allocated), "events differ from the writes that succeeded"
    for case in cases:
        versions = sorted(
            w.final["version"] for w in allocated if w.case is case and w.final is not None
        )
        assert versions == list(range(1, len(versions) + 1)), (case.offender_no, versions)
        by_version = {e["allocation_version"]: e for e in audit.prisoners[case.offender_no].events}
        for w in allocated:
            if w.case is case and w.final is not None:
                event = by_version[w.final["version"]]
                assert event["primary_pom_staff_id"] == w.final["primaryPomStaffId"]

    retried = [w for w in failed_writes if w.final and w.final["__typename"] == "Allocation"]
    written_by_retries = audit.events - events_before_retries
    print(
        f"\n[restart: {stop_server.__name__.strip('_')}] requests={len(load.writes)} writes"
        f" + {len(load.reads)} reads; first answers: "
        f"{sum(1 for w in load.writes if _typed(w.first) is not None)} typed,"
        f" {len(failed_writes)} STORE_UNAVAILABLE writes, {len(failed_reads)} failed reads;"
        f" retried: {len(failed_writes)} -> {len(retried)} Allocation"
        f" ({len(retried) - written_by_retries} were committed before the restart"
        f" and replayed, {written_by_retries} written on retry);"
        f" events={audit.events} allocation answers={len(allocated)}"
        f" mismatches={len(audit.mismatches)}"
    )


async def test_fast_restart_while_requests_are_in_flight(
    restart_api: RunningApi, dedicated_pg: Dedicated
) -> None:
    await _restart_under_load(restart_api, dedicated_pg, _fast_stop)


async def test_crash_while_requests_are_in_flight(
    restart_api: RunningApi, dedicated_pg: Dedicated
) -> None:
    await _restart_under_load(restart_api, dedicated_pg, _kill)
