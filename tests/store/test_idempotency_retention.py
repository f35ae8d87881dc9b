"""Idempotency keys expire: never replayed once older than the retention, replaced
by a new request with the same key, and purged in batches by any number of
purgers at once, each expired row deleted exactly once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.cli import main
from allocation_api.store.guards import claim_idempotency_key, store_idempotent_response
from allocation_api.store.idempotency import purge_expired_idempotency_keys, purge_periodically
from allocation_api.store.tables import IdempotencyKey

RETENTION = timedelta(days=7)


async def _insert(engine: AsyncEngine, keys: list[str], *, age: timedelta) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            sa.text(
                "INSERT INTO idempotency_key (key, operation, request_hash, response, created_at) "
                "VALUES (:key, 'op', 'h', '{}'::jsonb, now() - :age)"
            ).bindparams(sa.bindparam("age", type_=sa.Interval())),
            [{"key": key, "age": age} for key in keys],
        )


async def _present(engine: AsyncEngine, keys: list[str]) -> set[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.text("SELECT key FROM idempotency_key WHERE key = ANY(:keys)"), {"keys": keys}
        )
    return {row[0] for row in rows}


def _keys(n: int, label: str) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"{label}-{run}-{i}" for i in range(n)]


async def _claim(
    session: AsyncSession, key: str, request_hash: str, *, retention: timedelta = RETENTION
) -> IdempotencyKey | None:
    return await claim_idempotency_key(
        session,
        key=key,
        operation="op",
        request_hash=request_hash,
        username=None,
        retention=retention,
    )


async def _replayed(
    sessions: async_sessionmaker[AsyncSession], key: str, *, retention: timedelta
) -> IdempotencyKey | None:
    """What a new request with `key` is answered from (None: it does the write), in a
    transaction rolled back so that the stored row stays as it is."""
    async with sessions() as session:
        found = await _claim(session, key, "probe", retention=retention)
        if found is not None:
            session.expunge(found)  # keeps the values read, past the rollback
        await session.rollback()
    return found


async def test_an_expired_key_is_not_replayed_before_the_purge(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    [old] = _keys(1, "old")
    [fresh] = _keys(1, "fresh")
    await _insert(engine, [old], age=RETENTION + timedelta(hours=1))
    await _insert(engine, [fresh], age=RETENTION - timedelta(hours=1))
    assert await _replayed(sessions, old, retention=RETENTION) is None
    assert await _replayed(sessions, fresh, retention=RETENTION)
    # A longer retention keeps it: the setting, not the row, decides.
    longer = RETENTION * 2
    assert await _replayed(sessions, old, retention=longer)


async def test_a_new_request_with_an_expired_key_takes_its_place(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    [old] = _keys(1, "reused")
    await _insert(engine, [old], age=RETENTION + timedelta(hours=1))
    async with sessions() as session, session.begin():
        assert await _claim(session, old, "new") is None
        await store_idempotent_response(session, key=old, operation="op", response={"new": True})
    stored = await _replayed(sessions, old, retention=RETENTION)
    assert stored is not None
    assert (stored.request_hash, stored.response) == ("new", {"new": True})
    # ...and it is now a live key: a second request gets that record, not the write.
    async with sessions() as session, session.begin():
        assert await _claim(session, old, "other") is not None


async def test_the_purge_deletes_expired_keys_only_in_bounded_batches(engine: AsyncEngine) -> None:
    await purge_expired_idempotency_keys(engine, retention=RETENTION)  # earlier tests' rows
    expired = _keys(25, "expired")
    fresh = _keys(5, "kept")
    await _insert(engine, expired, age=RETENTION + timedelta(minutes=1))
    await _insert(engine, fresh, age=RETENTION - timedelta(minutes=1))
    report = await purge_expired_idempotency_keys(engine, retention=RETENTION, batch_size=10)
    assert (report.deleted, report.batches) == (25, 3)
    assert await _present(engine, expired + fresh) == set(fresh)
    again = await purge_expired_idempotency_keys(engine, retention=RETENTION, batch_size=10)
    assert (again.deleted, again.batches) == (0, 1)


@pytest.mark.parametrize("round_", range(5))
async def test_two_purgers_at_once_delete_each_expired_key_exactly_once(
    engine: AsyncEngine, round_: int
) -> None:
    await purge_expired_idempotency_keys(engine, retention=RETENTION)
    expired = _keys(400, f"both{round_}")
    fresh = _keys(10, f"live{round_}")
    await _insert(engine, expired, age=RETENTION + timedelta(minutes=1))
    await _insert(engine, fresh, age=timedelta(0))
    first, second = await asyncio.gather(
        purge_expired_idempotency_keys(engine, retention=RETENTION, batch_size=7),
        purge_expired_idempotency_keys(engine, retention=RETENTION, batch_size=7),
    )
    assert first.deleted + second.deleted == 400
    assert await _present(engine, expired + fresh) == set(fresh)


async def test_the_periodic_purge_runs_at_once_and_stops_when_cancelled(
    engine: AsyncEngine,
) -> None:
    expired = _keys(3, "periodic")
    await _insert(engine, expired, age=RETENTION + timedelta(minutes=1))
    task = asyncio.create_task(
        purge_periodically(engine, retention=RETENTION, batch_size=100, interval_s=3600)
    )
    for _ in range(200):  # bounded: 10 s at most
        if not await _present(engine, expired):
            break
        await asyncio.sleep(0.05)
    assert await _present(engine, expired) == set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_the_purge_command_prints_its_counts_as_json(
    database_url: str,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expired = _keys(4, "cli")
    asyncio.run(_insert_with_own_engine(database_url, expired))
    monkeypatch.setenv("ALLOCATION_API_DATABASE_URL", database_url)
    assert main(["purge-idempotency-keys"]) == 0
    printed = orjson.loads(capsys.readouterr().out)
    assert printed["deleted"] >= 4
    assert printed["retentionDays"] == 7
    assert printed["batches"] >= 1


async def _insert_with_own_engine(database_url: str, keys: list[str]) -> None:
    from allocation_api.store.engine import create_engine

    engine = create_engine(database_url)
    try:
        await _insert(engine, keys, age=RETENTION + timedelta(minutes=1))
    finally:
        await engine.dispose()
