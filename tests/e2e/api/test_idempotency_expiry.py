"""Through the API: a retried mutation is replayed within the retention and not after
it, even while the expired key is still stored (the purge has not run)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from allocation_api.store.urls import asyncpg_url
from tests.conftest import RunningApi
from tests.e2e.api.helpers import allocate, ready_prisoner_and_pom


async def _age_key(database_url: str, key: str, days: float) -> int:
    engine = create_async_engine(asyncpg_url(database_url))
    try:
        async with engine.begin() as connection:
            result = await connection.execute(
                sa.text(
                    "UPDATE idempotency_key SET created_at = created_at - make_interval(days => :d)"
                    " WHERE key = :key"
                ),
                {"d": days, "key": key},
            )
    finally:
        await engine.dispose()
    return int(result.rowcount)


async def test_an_expired_key_is_not_replayed(api: RunningApi) -> None:
    retention = api.settings.idempotency_retention_days
    no, pom = await ready_prisoner_and_pom(api)
    key = f"expiry-{uuid.uuid4()}"
    first = await allocate(api, no, pom["staffId"], idempotencyKey=key)
    assert (first["__typename"], first["version"]) == ("Allocation", 1)
    # Just inside the retention: replayed, nothing written.
    assert await _age_key(api.settings.database_url or "", key, retention - 0.5) == 1
    replayed = await allocate(api, no, pom["staffId"], idempotencyKey=key)
    assert replayed == first
    # Past it: the request runs again as a new one, and the same POM twice is refused.
    assert await _age_key(api.settings.database_url or "", key, 1) == 1
    again = await allocate(api, no, pom["staffId"], idempotencyKey=key)
    assert (again["__typename"], again["code"]) == ("NotAllowedError", "ALREADY_PRIMARY_POM")
