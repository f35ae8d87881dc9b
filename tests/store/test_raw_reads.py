"""`store/raw.py`: reads sent on the driver directly are counted, and a failure
never leaves a broken connection in the pool (the next read gets a sound one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.calls import track_calls
from allocation_api.store import raw
from allocation_api.store.engine import create_engine, session_factory
from allocation_api.store.failures import translate_store_errors


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An autocommit engine whose pool holds ONE connection: a broken one would be reused."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0, autocommit=True)
    yield engine
    await engine.dispose()


async def _answer(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session, translate_store_errors():
        rows = await raw.fetch(session, "SELECT $1::int + 1", 41)
    return int(rows[0][0])


async def _backend_pid(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        rows = await raw.fetch(session, "SELECT pg_backend_pid()")
    return int(rows[0][0])


async def test_a_read_is_one_counted_store_call(one_connection: AsyncEngine) -> None:
    sessions = session_factory(one_connection)
    with track_calls() as calls:
        assert await _answer(sessions) == 42
    assert calls.store == 1


async def test_a_read_cancelled_halfway_leaves_no_broken_connection(
    one_connection: AsyncEngine,
) -> None:
    sessions = session_factory(one_connection)
    before = await _backend_pid(sessions)

    async def slow() -> None:
        async with sessions() as session:
            await raw.fetch(session, "SELECT pg_sleep(5)")

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(slow(), timeout=0.2)
    assert await _answer(sessions) == 42
    assert await _backend_pid(sessions) != before, "the interrupted connection was reused"


async def test_a_bad_statement_propagates_unchanged_and_the_next_read_works(
    one_connection: AsyncEngine,
) -> None:
    sessions = session_factory(one_connection)
    with pytest.raises(asyncpg.UndefinedTableError):
        async with sessions() as session, translate_store_errors():
            await raw.fetch(session, "SELECT * FROM no_such_table")
    assert await _answer(sessions) == 42
