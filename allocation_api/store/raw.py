"""Reads sent on an asyncpg connection directly, and where they are sent.

A prison page's owned records, its POMs' details and a caseload are one
statement each, run on every page. Measured on the embedded Postgres (50
prisoners, autocommit session): SQLAlchemy's `execute`, its result and row
objects cost about 0.5 ms per read on top of the statement itself; the same
statement through the session's own asyncpg connection does not.

A `Reader` is what such a read runs on. The request path uses the read pool
(`read_pool.ReadPool`: a plain asyncpg pool, cheaper again by about 0.4 ms
per read than a session); a caller holding a session, a transaction that must
see its own writes or a test, passes the session, which `reader_of` wraps in
a `SessionReader`. Either way each statement is counted as a store call and
driver errors come out as the domain's (`failures.py`).

Statements here use asyncpg's `$n` placeholders, with explicit casts.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol, TypeAlias

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.asyncio import AsyncSession as SqlAlchemySession
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.calls import count_store
from allocation_api.errors import StoreUnavailable
from allocation_api.store.failures import translate_store_errors


class Reader(Protocol):
    """Runs one read statement and returns its rows (counted, errors translated)."""

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]: ...


Readable: TypeAlias = Reader | AsyncSession
"""What a read function accepts: a reader, or a session to read on."""


class SessionReader:
    """A `Reader` on a session's connection (and its transaction, if one is open)."""

    __slots__ = ("session",)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with translate_store_errors():
            return await fetch(self.session, sql, *args)


def reader_of(source: Readable) -> Reader:
    """`source` itself, or a `SessionReader` on it when it is a session."""
    return SessionReader(source) if isinstance(source, SqlAlchemySession) else source


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
