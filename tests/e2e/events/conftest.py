"""A local SNS/SQS broker (moto's server mode on a free loopback port) for the
event tests, stopped at the end of the module; helpers to read the outbox and
the queues."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from allocation_api.events.local_broker import (
    LOCAL_CREDENTIALS,
    LOCAL_REGION,
    LocalBroker,
    sqs_client,
    start_local_broker,
    subscribe_queue,
)
from allocation_api.events.publisher import PublisherConfig
from allocation_api.store.urls import asyncpg_url


@pytest.fixture(scope="module")
async def broker() -> AsyncIterator[LocalBroker]:
    started = await start_local_broker()
    assert started is not None, "moto (the dev extra) is needed for the event tests"
    try:
        yield started
    finally:
        started.stop()


async def new_queue(broker: LocalBroker) -> str:
    """A queue of this test's own, subscribed to the topic from now on."""
    return await subscribe_queue(broker.endpoint, broker.topic_arn, f"t-{uuid.uuid4().hex[:12]}")


def publisher_config(broker: LocalBroker, **overrides: Any) -> PublisherConfig:
    values: dict[str, Any] = {
        "topic_arn": broker.topic_arn,
        "detail_base_url": "http://allocation.test",
        "region": LOCAL_REGION,
        "endpoint_url": broker.endpoint,
        "access_key_id": LOCAL_CREDENTIALS["aws_access_key_id"],
        "secret_access_key": LOCAL_CREDENTIALS["aws_secret_access_key"],
        **overrides,
    }
    return PublisherConfig(**values)


def engine_for(database_url: str) -> AsyncEngine:
    return create_async_engine(asyncpg_url(database_url))


async def outbox_rows(engine: AsyncEngine, where: str = "true", **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(
            sa.text(f"SELECT * FROM event_outbox WHERE {where} ORDER BY seq"), params
        )
        return list(result)


async def receive(
    endpoint: str, queue_url: str, *, expected: int, patience: int = 20, linger: int = 2
) -> list[dict[str, Any]]:
    """SNS notifications from the queue in arrival order, each as {"notification",
    "envelope"}: until `expected` arrived and then `linger` empty one-second polls
    passed (to catch duplicates), or `patience` empty polls in a row before that."""
    got: list[dict[str, Any]] = []
    empty = 0
    async with sqs_client(endpoint) as sqs:
        while empty < (linger if len(got) >= expected else patience):
            answer = await sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            messages = answer.get("Messages", [])
            empty = 0 if messages else empty + 1
            for message in messages:
                notification = orjson.loads(message["Body"])
                got.append(
                    {
                        "notification": notification,
                        "envelope": orjson.loads(notification["Message"]),
                    }
                )
                await sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return got


def bounded(seconds: float) -> Any:
    """Fail a test that takes longer than `seconds` instead of letting it hang.

    The bound is generous (a slow shared machine must not fail it); it exists so
    that a publisher that stops making progress fails the run rather than holds it.
    """

    def wrap(test: Any) -> Any:
        @functools.wraps(test)
        async def run(*args: Any, **kwargs: Any) -> Any:
            async with asyncio.timeout(seconds):
                return await test(*args, **kwargs)

        return run

    return wrap


async def wait_until(predicate: Any, *, tries: int = 400, pause_s: float = 0.05) -> None:
    """Poll an async predicate, bounded by `tries` (a failure says which)."""
    for _ in range(tries):
        if await predicate():
            return
        await asyncio.sleep(pause_s)
    raise AssertionError(f"condition not met after {tries} tries: {predicate.__name__}")
