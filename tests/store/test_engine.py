"""The engine: statement counting, and failures that arrive as the domain's exceptions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.calls import track_calls
from allocation_api.errors import Conflict, StoreUnavailable
from allocation_api.store.engine import create_engine, ping, session_factory
from allocation_api.store.failures import translate_store_errors
from allocation_api.store.migrate import run_migrations
from allocation_api.store.urls import asyncpg_url
from tests.store.session_reads import allocations_by_offender_nos

UNREACHABLE = [
    "postgresql+asyncpg://postgres@/allocation?host=/nonexistent/socket/dir",
    "postgresql+asyncpg://postgres@127.0.0.1:1/allocation",
]


@pytest.fixture
async def fresh_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=1.0)
    yield engine
    await engine.dispose()


async def test_only_statements_are_counted_not_connects_pings_or_transactions(
    fresh_engine: AsyncEngine,
) -> None:
    sessions = session_factory(fresh_engine)
    for _ in range(2):  # first: connect + dialect set-up; second: pooled, pre-pinged
        with track_calls() as calls:
            async with sessions() as session, session.begin():
                await allocations_by_offender_nos(session, ["A1111AA"])
        assert calls.store == 1
        assert calls.upstream == 0

    with track_calls() as calls:
        async with fresh_engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
            await connection.exec_driver_sql("SELECT 2")
            await connection.commit()
    assert calls.store == 2


async def test_nothing_is_counted_outside_a_request(fresh_engine: AsyncEngine) -> None:
    async with fresh_engine.connect() as connection:
        await connection.exec_driver_sql("SELECT 1")
    with track_calls() as calls:
        pass
    assert calls.store == 0


async def test_ping_is_true_for_a_live_database(engine: AsyncEngine) -> None:
    assert await ping(engine) is True


@pytest.mark.parametrize("url", UNREACHABLE)
async def test_an_unreachable_server_is_store_unavailable(url: str) -> None:
    engine = create_engine(url, pool_timeout=1.0)
    try:
        async with session_factory(engine)() as session:
            with pytest.raises(StoreUnavailable):
                await allocations_by_offender_nos(session, ["A1111AA"])
        assert await ping(engine, timeout_s=1.0) is False
        with pytest.raises(StoreUnavailable):
            await run_migrations(url)
    finally:
        await engine.dispose()


async def test_a_connection_killed_mid_transaction_is_store_unavailable_then_recovers(
    fresh_engine: AsyncEngine, engine: AsyncEngine
) -> None:
    sessions = session_factory(fresh_engine)
    async with sessions() as session:
        backend = await session.scalar(sa.select(sa.func.pg_backend_pid()))
        await _terminate(engine, backend)
        with pytest.raises(StoreUnavailable):
            await allocations_by_offender_nos(session, ["A1111AA"])

    async with sessions() as session:  # the pool threw the dead connection away
        assert await allocations_by_offender_nos(session, ["A1111AA"]) == {}


async def test_an_idle_pooled_connection_killed_by_the_server_is_replaced_silently(
    fresh_engine: AsyncEngine, engine: AsyncEngine
) -> None:
    sessions = session_factory(fresh_engine)
    async with sessions() as session:
        backend = await session.scalar(sa.select(sa.func.pg_backend_pid()))
    await _terminate(engine, backend)  # e.g. a server restart or idle timeout

    with track_calls() as calls:
        async with sessions() as session:
            assert await allocations_by_offender_nos(session, ["A1111AA"]) == {}
            assert await session.scalar(sa.select(sa.func.pg_backend_pid())) != backend
    assert calls.store == 2


async def test_a_statement_running_past_the_timeout_is_store_unavailable(
    database_url: str,
) -> None:
    engine = create_engine(database_url, statement_timeout_ms=100)
    try:
        async with engine.connect() as connection:
            with pytest.raises(StoreUnavailable, match="timed out"):
                async with translate_store_errors():
                    await connection.exec_driver_sql("SELECT pg_sleep(2)")
    finally:
        await engine.dispose()


async def test_an_exhausted_pool_is_store_unavailable(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
    try:
        async with engine.connect() as holder:
            await holder.exec_driver_sql("SELECT 1")  # the only connection, checked out
            async with sessions() as session:
                with pytest.raises(StoreUnavailable, match="in time"):
                    await allocations_by_offender_nos(session, ["A1111AA"])
    finally:
        await engine.dispose()


@pytest.mark.parametrize("sqlstate", ["serialization_failure", "deadlock_detected"])
async def test_losing_a_race_to_another_transaction_is_a_conflict(
    engine: AsyncEngine, sqlstate: str
) -> None:
    async with engine.connect() as connection:
        with pytest.raises(Conflict) as raised:
            async with translate_store_errors():
                await connection.exec_driver_sql(
                    f"DO $$ BEGIN RAISE EXCEPTION 'lost' USING ERRCODE = '{sqlstate}'; END $$"
                )
    assert raised.value.code == "CONCURRENT_CHANGE"


async def test_a_programming_error_is_not_disguised_as_unavailability(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        with pytest.raises(sa.exc.ProgrammingError):
            async with translate_store_errors():
                await connection.exec_driver_sql("SELECT no_such_column FROM allocation")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@/db?host=/tmp/x", "postgresql+asyncpg://u@/db?host=%2Ftmp%2Fx"),
    ],
)
def test_libpq_style_urls_are_accepted(given: str, expected: str) -> None:
    assert asyncpg_url(given) == expected


async def _terminate(engine: AsyncEngine, backend: int | None) -> None:
    assert backend is not None
    async with engine.connect() as admin:
        await admin.execute(sa.select(sa.func.pg_terminate_backend(backend)))
    await asyncio.sleep(0.05)  # let the server close the socket
