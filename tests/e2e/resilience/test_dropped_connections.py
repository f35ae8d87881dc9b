"""A connection the server drops must surface as `StoreUnavailable`, wherever it is noticed.

Resolvers read through `async with sessions() as session:` blocks whose CLOSE
(the rollback of the read's implicit transaction) runs outside any
`translate_store_errors()`. When the server dropped the connection after the
read, that rollback fails; the error must still be the domain's
`StoreUnavailable` (STORE_UNAVAILABLE to clients), never a driver exception
(which the GraphQL layer reports as INTERNAL). Found by the restart test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.errors import StoreUnavailable
from allocation_api.store.engine import create_engine, session_factory
from tests.store.session_reads import allocations_by_offender_nos


@pytest.fixture
async def engines(resilience_db: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    engine = create_engine(resilience_db, pool_size=2, max_overflow=0)
    admin = create_engine(resilience_db, pool_size=1, max_overflow=0)
    try:
        yield engine, admin
    finally:
        await engine.dispose()
        await admin.dispose()


async def _scalar(session: AsyncSession, sql: str) -> Any:
    connection = await session.connection()
    return await connection.scalar(sa.text(sql))


async def _terminate(admin: AsyncEngine, pid: int) -> None:
    async with admin.connect() as connection:
        killed = await connection.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert killed is True


async def test_closing_a_session_whose_connection_was_dropped_is_store_unavailable(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    engine, admin = engines
    sessions = session_factory(engine)

    async def read_then_lose_the_connection() -> None:
        async with sessions() as session:
            # A repository read succeeds; the server then drops the connection
            # before the session is given back (a restart, a failover, a kill).
            assert await allocations_by_offender_nos(session, ["Z9999ZZ"]) == {}
            await _terminate(admin, await _scalar(session, "SELECT pg_backend_pid()"))

    with pytest.raises(StoreUnavailable):
        await read_then_lose_the_connection()

    # The broken connection was not pooled: the next session works at once.
    async with sessions() as session:
        assert await _scalar(session, "SELECT 1") == 1


async def test_a_dropped_connection_inside_a_transaction_is_store_unavailable(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    engine, admin = engines
    sessions = session_factory(engine)

    async def lose_the_connection_then_read() -> None:
        async with sessions() as session, session.begin():
            await _terminate(admin, await _scalar(session, "SELECT pg_backend_pid()"))
            await allocations_by_offender_nos(session, ["Z9999ZZ"])

    with pytest.raises(StoreUnavailable):
        await lose_the_connection_then_read()
    async with sessions() as session:
        assert await _scalar(session, "SELECT 1") == 1
