"""The hottest reads, sent on the session's asyncpg connection directly.

A prison page's owned records, its POMs' details and a caseload are one
statement each, run on every page. Measured on the embedded Postgres (50
prisoners, autocommit session): SQLAlchemy's `execute`, its result and row
objects cost about 0.5 ms per read on top of the statement itself; the same
statement through the session's own asyncpg connection does not. The session
still provides the pooled, pre-pinged connection (and its transaction, if the
caller began one), each statement is still counted as a store call, and
driver errors are translated by `translate_store_errors` as always.

Statements here use asyncpg's `$n` placeholders, with explicit casts.
"""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.calls import count_store
from allocation_api.errors import StoreUnavailable


async def fetch(session: AsyncSession, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Rows of one read on the session's connection (call inside `translate_store_errors`).

    SQLAlchemy does not see this statement, so it cannot tell when it left the
    connection unusable (a drop, a cancellation halfway through, which leaves
    asyncpg mid-operation): any failure here terminates and invalidates the
    connection, so the pool never hands it out again (seen under a database
    restart before this was done: "another operation is in progress").
    """
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    count_store()
    try:
        rows: list[asyncpg.Record] = await driver.fetch(sql, *args)
    except Exception as error:
        # As SQLAlchemy decides for its own statements: a failure on a connection
        # that is closed by now was the connection's, not the statement's.
        lost = driver.is_closed()
        await _discard(connection, driver)
        if lost and not isinstance(error, asyncpg.PostgresError):
            raise StoreUnavailable("database connection lost") from error
        raise
    except BaseException:  # cancelled halfway through: asyncpg is left mid-operation
        await _discard(connection, driver)
        raise
    return rows


async def _discard(connection: AsyncConnection, driver: asyncpg.Connection) -> None:
    """Never pool this connection again. Terminate first (synchronous, cannot fail):
    SQLAlchemy's own invalidation tries a graceful close, which an operation still
    in progress refuses."""
    driver.terminate()
    with contextlib.suppress(Exception):
        await connection.invalidate()
