"""The publisher under faults, against a real Postgres and moto's SNS/SQS:
SIGKILL mid-drain, two publishers at once, SNS down for a while, a poison row.

Events here are written with `add_event` straight into a fresh database, each
carrying a marker (`additionalInformation.n`, its position in its prisoner's
sequence) so that what arrives on the queue can be matched to what was written:
the HMPPS envelope carries no event id of its own.

Volumes are a few hundred events: moto's SQS scans the whole queue for every
message it returns (quadratic per receive), so thousands of queued events take
minutes to read back, which measures moto rather than the publisher. Every
test has a hard bound (`bounded`)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from allocation_api.events.local_broker import (
    LOCAL_CREDENTIALS,
    LOCAL_REGION,
    LocalBroker,
    start_local_broker,
)
from allocation_api.events.outbox import ALLOCATION_CHANGED, add_event
from allocation_api.events.publisher import Publisher, outbox_status
from allocation_api.sandbox import Sandbox
from allocation_api.store.engine import session_factory
from allocation_api.store.testing import database_for_tests, drop_database_for_tests
from tests.conftest import running_api, settings_for
from tests.e2e.events.conftest import (
    bounded,
    engine_for,
    new_queue,
    outbox_rows,
    publisher_config,
    receive,
    wait_until,
)

SIGKILL_PRISONERS, SIGKILL_EACH = 40, 5
TWO_PUBLISHERS_PRISONERS, TWO_PUBLISHERS_EACH = 30, 6


def _prisoner(i: int) -> str:
    return f"Z{i:04d}ZZ"


async def _seed(database_url: str, *, prisoners: int, per_prisoner: int) -> int:
    """`per_prisoner` events for each prisoner, interleaved across prisoners as commits
    would be; returns how many."""
    engine = engine_for(database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            for n in range(per_prisoner):
                for i in range(prisoners):
                    await add_event(
                        session,
                        event_type=ALLOCATION_CHANGED,
                        offender_no=_prisoner(i),
                        description="test event",
                        detail_path=f"/api/allocation/{_prisoner(i)}/primary_pom",
                        additional_information={"n": n},
                    )
    finally:
        await engine.dispose()
    return prisoners * per_prisoner


def _key(message: dict[str, Any]) -> tuple[str, int]:
    envelope = message["envelope"]
    return (
        envelope["personReference"]["identifiers"][0]["value"],
        envelope["additionalInformation"]["n"],
    )


def _check_delivery(received: list[dict[str, Any]], *, prisoners: int, per_prisoner: int) -> int:
    """Every event arrived; each prisoner's first arrivals are in its order. Returns
    the number of duplicates (allowed by at-least-once)."""
    keys = [_key(m) for m in received]
    expected = {(_prisoner(i), n) for i in range(prisoners) for n in range(per_prisoner)}
    assert set(keys) == expected
    first_seen: dict[str, list[int]] = defaultdict(list)
    seen: set[tuple[str, int]] = set()
    for key in keys:
        if key not in seen:
            seen.add(key)
            first_seen[key[0]].append(key[1])
    for prisoner, order in first_seen.items():
        assert order == list(range(per_prisoner)), (prisoner, order)
    assert all(
        m["notification"]["MessageAttributes"]
        == {"eventType": {"Type": "String", "Value": ALLOCATION_CHANGED}}
        for m in received
    )
    return len(keys) - len(expected)


def _cli_env(
    database_url: str, broker_endpoint: str, topic_arn: str, **extra: str
) -> dict[str, str]:
    return {
        **os.environ,
        "ALLOCATION_API_DATABASE_URL": database_url,
        "ALLOCATION_API_EVENTS_TOPIC_ARN": topic_arn,
        "ALLOCATION_API_EVENTS_SNS_ENDPOINT_URL": broker_endpoint,
        "ALLOCATION_API_EVENTS_AWS_REGION": LOCAL_REGION,
        "ALLOCATION_API_EVENTS_AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
        "ALLOCATION_API_EVENTS_AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
        **extra,
    }


PUBLISH = [sys.executable, "-m", "allocation_api.cli", "publish-events"]


async def _count(database_url: str, state: str) -> int:
    engine = engine_for(database_url)
    try:
        async with engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        sa.text("SELECT count(*) FROM event_outbox WHERE state = :s"), {"s": state}
                    )
                ).scalar_one()
            )
    finally:
        await engine.dispose()


@bounded(240)
async def test_sigkill_mid_drain_then_restart_delivers_everything(
    broker: LocalBroker, tmp_path: Path
) -> None:
    url = await database_for_tests()
    try:
        queue = await new_queue(broker)
        total = await _seed(url, prisoners=SIGKILL_PRISONERS, per_prisoner=SIGKILL_EACH)
        env = _cli_env(url, broker.endpoint, broker.topic_arn, ALLOCATION_API_EVENTS_BATCH_SIZE="2")
        first = subprocess.Popen(  # noqa: ASYNC220 (a real process to SIGKILL)
            PUBLISH, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:

            async def some_published() -> bool:
                return await _count(url, "published") >= total // 5

            await wait_until(some_published, tries=1200)
        finally:
            first.send_signal(signal.SIGKILL)
            first.communicate(timeout=30)
        assert first.returncode == -signal.SIGKILL
        left = await _count(url, "pending")
        assert 0 < left < total, "the kill was meant to land mid-drain"
        second = await asyncio.to_thread(
            subprocess.run, PUBLISH, env=env, cwd=tmp_path, capture_output=True, timeout=180
        )
        assert second.returncode == 0, second.stderr.decode()[-2000:]
        report = orjson.loads(second.stdout)
        assert report["backlog"] == 0
        assert report["parked"] == report["failed"] == 0
        assert await _count(url, "published") == total
        received = await receive(broker.endpoint, queue, expected=total)
        duplicates = _check_delivery(
            received, prisoners=SIGKILL_PRISONERS, per_prisoner=SIGKILL_EACH
        )
        # At least once: the kill may have cut a batch after SNS accepted some of it.
        print(f"SIGKILL test: {left} pending at the kill, {duplicates} duplicate deliveries")
        assert report["published"] == left
    finally:
        await drop_database_for_tests(url)


@bounded(240)
async def test_two_publishers_at_once_publish_each_event_once(
    broker: LocalBroker, tmp_path: Path
) -> None:
    url = await database_for_tests()
    try:
        queue = await new_queue(broker)
        total = await _seed(
            url, prisoners=TWO_PUBLISHERS_PRISONERS, per_prisoner=TWO_PUBLISHERS_EACH
        )
        env = _cli_env(url, broker.endpoint, broker.topic_arn, ALLOCATION_API_EVENTS_BATCH_SIZE="5")
        procs = [
            subprocess.Popen(  # noqa: ASYNC220 (two real publisher processes)
                PUBLISH, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        outputs = [await asyncio.to_thread(p.communicate, timeout=180) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [o[1].decode()[-2000:] for o in outputs]
        reports = [orjson.loads(out) for out, _ in outputs]
        assert sum(r["published"] for r in reports) == total
        received = await receive(broker.endpoint, queue, expected=total)
        assert len(received) == total
        assert (
            _check_delivery(
                received, prisoners=TWO_PUBLISHERS_PRISONERS, per_prisoner=TWO_PUBLISHERS_EACH
            )
            == 0
        )
        print(f"two publishers: {[r['published'] for r in reports]} events each")
    finally:
        await drop_database_for_tests(url)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@bounded(180)
async def test_sns_down_backlog_shows_in_health_then_delivered_in_order(
    sandbox: Sandbox, broker: LocalBroker
) -> None:
    # moto's servers in one process share one backend: a queue of this test's own,
    # subscribed now, is what the broker started later delivers to (the broker's
    # default queue holds what earlier tests published).
    queue = await new_queue(broker)
    url = await database_for_tests()
    port = _closed_port()
    endpoint = f"http://127.0.0.1:{port}"
    later: LocalBroker | None = None
    try:
        total = await _seed(url, prisoners=3, per_prisoner=5)
        settings = settings_for(
            sandbox,
            url,
            events_topic_arn=f"arn:aws:sns:{LOCAL_REGION}:123456789012:hmpps-domain-events",
            events_sns_endpoint_url=endpoint,
            events_aws_region=LOCAL_REGION,
            events_aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
            events_aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
            events_publish_interval_s=0.05,
            events_backoff_base_s=0.05,
            events_backoff_max_s=0.2,
            events_publish_timeout_s=2.0,
        )
        async with running_api(settings, sandbox) as api:
            engine = engine_for(url)
            try:

                async def heads_retried() -> bool:
                    rows = await outbox_rows(engine, "attempts >= 2")
                    return len(rows) == 3

                await wait_until(heads_retried)
                # Each prisoner's oldest event failed (and is retried); nothing behind it
                # was tried, nothing was published, nothing parked.
                rows = await outbox_rows(engine)
                assert {r.state for r in rows} == {"pending"}
                assert {r.payload["additionalInformation"]["n"] for r in rows if r.attempts} == {0}
                assert all("Connect" in (r.last_error or "") for r in rows if r.attempts)
                token = await api.token()
                async with api.http.get(
                    f"{api.url}/health", headers={"Authorization": f"Bearer {token}"}
                ) as response:
                    health = await response.json()
                events = health["components"]["events"]
                assert events["status"] == "UP"
                assert events["details"]["backlog"] == total
                assert events["details"]["failing"] == 3
                assert events["details"]["parked"] == 0
                assert events["details"]["oldestPendingAgeSeconds"] > 0

                later = await start_local_broker(port)
                assert later is not None

                async def delivered() -> bool:
                    return (await outbox_status(engine)).backlog == 0

                await wait_until(delivered, tries=600)
                received = await receive(later.endpoint, queue, expected=total)
                async with api.http.get(f"{api.url}/metrics") as response:
                    metrics = await response.text()
            finally:
                await engine.dispose()
        assert _check_delivery(received, prisoners=3, per_prisoner=5) == 0
        failed = next(
            line
            for line in metrics.splitlines()
            if line.startswith("allocation_api_events_failed_total")
        )
        assert float(failed.split()[-1]) >= 6
    finally:
        if later is not None:
            later.stop()
        await drop_database_for_tests(url)


@bounded(180)
async def test_poison_row_is_parked_without_blocking_other_prisoners(
    broker: LocalBroker,
) -> None:
    url = await database_for_tests()
    engine = engine_for(url)
    try:
        queue = await new_queue(broker)
        async with session_factory(engine)() as session, session.begin():
            for offender, n, size in [
                ("A0001AA", 0, 10),
                ("B0001BB", 0, 300_000),  # over SNS's 256 KiB: the topic refuses it
                ("C0001CC", 0, 10),
                ("A0001AA", 1, 10),
                ("B0001BB", 1, 10),
                ("C0001CC", 1, 10),
                ("B0001BB", 2, 10),
            ]:
                await add_event(
                    session,
                    event_type=ALLOCATION_CHANGED,
                    offender_no=offender,
                    description="x" * size,
                    detail_path=f"/api/allocation/{offender}/primary_pom",
                    additional_information={"n": n},
                )
        config = publisher_config(broker, max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.02)
        async with Publisher(engine, config) as publisher:
            first = await publisher.drain()
            # A and C went out whole in the first drain, whatever became of B's poison
            # row meanwhile (with these short backoffs one drain may retry and park it).
            assert first.published >= 4
            assert first.failed >= 1
            states = {
                (r.offender_no, r.payload["additionalInformation"]["n"]): r.state
                for r in await outbox_rows(engine)
            }
            assert {key: states[key] for key in states if key[0] != "B0001BB"} == {
                ("A0001AA", 0): "published",
                ("A0001AA", 1): "published",
                ("C0001CC", 0): "published",
                ("C0001CC", 1): "published",
            }
            # B's later rows wait behind its first for as long as that is still pending.
            if states[("B0001BB", 0)] == "pending":
                assert states[("B0001BB", 1)] == states[("B0001BB", 2)] == "pending"
            else:
                assert states[("B0001BB", 0)] == "parked"

            async def drained() -> bool:
                await publisher.drain()
                return (await outbox_status(engine)).backlog == 0

            await wait_until(drained)
        poison = await outbox_rows(engine, "state = 'parked'")
        assert [(r.offender_no, r.attempts) for r in poison] == [("B0001BB", 3)]
        assert "Message too long" in (poison[0].last_error or "")
        status = await outbox_status(engine)
        assert (status.backlog, status.parked) == (0, 1)
        received = await receive(broker.endpoint, queue, expected=6)
        assert Counter(_key(m) for m in received) == Counter(
            {
                ("A0001AA", 0): 1,
                ("A0001AA", 1): 1,
                ("C0001CC", 0): 1,
                ("C0001CC", 1): 1,
                ("B0001BB", 1): 1,
                ("B0001BB", 2): 1,
            }
        )
        b_order = [_key(m)[1] for m in received if _key(m)[0] == "B0001BB"]
        assert b_order == [1, 2]
    finally:
        await engine.dispose()
        await drop_database_for_tests(url)


@bounded(120)
async def test_prune_deletes_only_published_rows_past_retention(broker: LocalBroker) -> None:
    url = await database_for_tests()
    engine = engine_for(url)
    try:
        await _seed(url, prisoners=5, per_prisoner=3)
        async with Publisher(engine, publisher_config(broker)) as publisher:
            assert (await publisher.drain()).published == 15
            await _seed(url, prisoners=1, per_prisoner=1)  # one still pending
            async with engine.begin() as conn:
                await conn.execute(
                    sa.text(
                        "UPDATE event_outbox SET published_at = now() - interval '8 days' "
                        "WHERE state = 'published' AND offender_no <> :keep"
                    ),
                    {"keep": _prisoner(4)},
                )
        from datetime import timedelta

        from allocation_api.events.publisher import prune_published

        assert await prune_published(engine, retention=timedelta(days=7), batch_size=4) == 12
        left = await outbox_rows(engine)
        assert sorted((r.offender_no, r.state) for r in left) == sorted(
            [(_prisoner(4), "published")] * 3 + [(_prisoner(0), "pending")]
        )
    finally:
        await engine.dispose()
        await drop_database_for_tests(url)
