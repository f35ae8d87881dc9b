"""`store/read_pool.py`: the request path's reads on a plain asyncpg pool.

Each read is one counted store call; every failure comes out as the domain's
(STORE_UNAVAILABLE for the database's problems, the driver's error for a
bug); and no failure, cancellation or server-side termination leaves a
connection in the pool that breaks the next read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from allocation_api.calls import track_calls
from allocation_api.errors import StoreUnavailable
from allocation_api.store.engine import create_engine
from allocation_api.store.read_pool import ReadPool

PoolFactory = Callable[..., Awaitable[ReadPool]]


@pytest.fixture
async def open_pool(database_url: str) -> AsyncIterator[PoolFactory]:
    """Pools on the test database (each closed at the end); ONE connection by default,
    so a broken connection left in the pool would be the next read's."""
    opened: list[tuple[AsyncEngine, ReadPool]] = []

    async def make(
        url: str = database_url,
        *,
        max_size: int = 1,
        acquire_timeout_s: float = 5.0,
        statement_timeout_ms: int = 10_000,
    ) -> ReadPool:
        engine = create_engine(url)
        pool = await ReadPool.open(
            engine,
            max_size=max_size,
            acquire_timeout_s=acquire_timeout_s,
            statement_timeout_ms=statement_timeout_ms,
        )
        opened.append((engine, pool))
        return pool

    yield make
    for engine, pool in opened:
        await pool.close()
        await engine.dispose()


async def _answer(pool: ReadPool) -> int:
    rows = await pool.fetch("SELECT $1::int + 1", 41)
    return int(rows[0][0])


async def _backend_pid(pool: ReadPool) -> int:
    return int((await pool.fetch("SELECT pg_backend_pid()"))[0][0])


async def test_a_read_is_one_counted_store_call(open_pool: PoolFactory) -> None:
    pool = await open_pool()
    with track_calls() as calls:
        assert await _answer(pool) == 42
    assert calls.store == 1


async def test_the_pool_reuses_its_connection_and_sets_the_statement_timeout(
    open_pool: PoolFactory,
) -> None:
    pool = await open_pool(statement_timeout_ms=1234)
    first = await _backend_pid(pool)
    assert await _backend_pid(pool) == first
    rows = await pool.fetch(
        "SELECT current_setting('statement_timeout'), current_setting('application_name')"
    )
    assert tuple(rows[0]) == ("1234ms", "allocation-api")


async def test_a_read_cancelled_halfway_leaves_no_broken_connection(
    open_pool: PoolFactory,
) -> None:
    pool = await open_pool()
    before = await _backend_pid(pool)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pool.fetch("SELECT pg_sleep(5)"), timeout=0.2)
    assert await _answer(pool) == 42
    assert await _backend_pid(pool) != before, "the interrupted connection was reused"


async def test_a_bad_statement_propagates_unchanged_and_the_next_read_works(
    open_pool: PoolFactory,
) -> None:
    pool = await open_pool()
    with pytest.raises(asyncpg.UndefinedTableError):
        await pool.fetch("SELECT * FROM no_such_table")
    assert await _answer(pool) == 42


async def test_a_statement_past_the_timeout_is_store_unavailable(open_pool: PoolFactory) -> None:
    pool = await open_pool(statement_timeout_ms=100)
    with pytest.raises(StoreUnavailable, match="timed out"):
        await pool.fetch("SELECT pg_sleep(2)")
    assert await _answer(pool) == 42


async def test_no_connection_within_the_acquire_timeout_is_store_unavailable(
    open_pool: PoolFactory,
) -> None:
    pool = await open_pool(max_size=1, acquire_timeout_s=0.2)
    holder = asyncio.ensure_future(pool.fetch("SELECT pg_sleep(1)"))
    await asyncio.sleep(0.1)  # the only connection is busy now
    with track_calls() as calls, pytest.raises(StoreUnavailable, match="no database connection"):
        await pool.fetch("SELECT 1")
    assert calls.store == 1
    await holder
    assert await _answer(pool) == 42


async def test_a_connection_the_server_terminated_is_replaced(open_pool: PoolFactory) -> None:
    """pg_terminate_backend on the pooled (idle) connection: the next reads get a
    new connection, or at worst STORE_UNAVAILABLE once, never a driver error."""
    pool = await open_pool()
    victim = await _backend_pid(pool)
    killer = await open_pool()
    await killer.fetch("SELECT pg_terminate_backend($1)", victim)
    answers: list[object] = []
    for _ in range(3):
        try:
            answers.append(await _answer(pool))
        except StoreUnavailable as error:
            answers.append(error)
        await asyncio.sleep(0.05)
    assert answers[-1] == 42
    assert all(a == 42 or isinstance(a, StoreUnavailable) for a in answers), answers
    assert sum(isinstance(a, StoreUnavailable) for a in answers) <= 1, answers
    assert await _backend_pid(pool) != victim


async def test_an_unreachable_database_is_store_unavailable(
    open_pool: PoolFactory, tmp_path: object
) -> None:
    pool = await open_pool(
        f"postgresql+asyncpg://postgres@/allocation?host={tmp_path}/nowhere",
        acquire_timeout_s=1.0,
    )
    with pytest.raises(StoreUnavailable):
        await pool.fetch("SELECT 1")
