"""The read pool: a plain asyncpg pool for the request path's single-statement reads.

The reads of `reads.py` and `owned_records.py` take a `Reader` (anything with
`fetch(sql, *args)`): in the service the `ReadPool`, in tests the same. They
are written for asyncpg (`$n` placeholders, explicit casts), not SQLAlchemy:
its `execute`, result and row objects cost about 0.5 ms per read on top of the
statement itself (measured on the 50-prisoner owned-records read).

Every read of a GraphQL request is ONE statement in autocommit (a batched
`= ANY(...)` or `unnest` read), so it needs no transaction, no ORM and no
SQLAlchemy connection around it. Measured on the embedded Postgres, the
50-prisoner owned-records read cost 0.70-0.80 ms of CPU through an
autocommit SQLAlchemy session (pre-ping round trip, session and connection
objects, greenlet hops) and 0.28-0.31 ms from this pool (2000 reads in a
loop).

Why this is safe without SQLAlchemy's machinery:
- **No pre-ping.** asyncpg marks a connection closed as soon as the server
  drops it (a restart, an idle timeout: the loop sees the EOF), and the pool
  reconnects such a holder on `acquire`. A connection that dies during the
  read fails that read as STORE_UNAVAILABLE, as a pre-pinged one would.
- **No reset query on release.** asyncpg's default reset sends
  `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` per
  release. Nothing on this pool takes locks, opens cursors, listens or SETs
  (it only runs the read statements of `store/`), so `_no_reset` skips it.
- **Failures.** A read that fails or is cancelled halfway terminates its
  connection (it may be mid-protocol), so the pool never lends it again.
  Failures are rare; a reconnect is cheap next to a wrong answer.
- **A connection the server is closing.** A server shutting down sends an
  error to its idle connections too, then closes them; a read that takes one
  in between fails with asyncpg's "cannot switch to state 12; another
  operation (2) is in progress" (seen under the restart test). That is the
  connection going away, reported as STORE_UNAVAILABLE like any lost one.
  SQLAlchemy's pre-ping would have caught it at the cost of a round trip on
  every read; a restart costs a few reads their answer either way.
- **Bounded.** `max_size` connections, each `acquire` waits at most
  `acquire_timeout_s` (then STORE_UNAVAILABLE); connections start lazily
  (`min_size=0`), so the service starts while the database is down, as it
  does with the write engine.

The connection arguments come from the write engine's own dialect
(`create_connect_args`), so both pools read the same URL the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from allocation_api import tracing
from allocation_api.calls import count_store
from allocation_api.errors import StoreUnavailable
from allocation_api.store.engine import APPLICATION_NAME
from allocation_api.store.failures import translate_store_errors

__all__ = ["ReadPool", "Reader", "statement_name"]

# Keys SQLAlchemy's asyncpg dialect accepts in a URL that asyncpg.connect does not.
_SQLALCHEMY_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func")


def statement_name(sql: str) -> str:
    """A span name for a statement: `sql` and its first keyword (`sql SELECT`)."""
    head = sql.lstrip().split(None, 1)
    return f"sql {head[0].upper()}" if head else "sql"


class Reader(Protocol):
    """Runs one read statement and returns its rows (counted, errors translated)."""

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]: ...


async def _no_reset(connection: asyncpg.Connection) -> None:
    """Nothing to undo: the pool only ever runs single read statements."""


class ReadPool:
    """A `Reader` on a bounded asyncpg pool (each `fetch` is one counted store call)."""

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout_s: float) -> None:
        self._pool = pool
        self._acquire_timeout_s = acquire_timeout_s

    @classmethod
    async def open(
        cls,
        engine: AsyncEngine,
        *,
        max_size: int,
        acquire_timeout_s: float,
        statement_timeout_ms: int,
    ) -> ReadPool:
        """A pool to the engine's database with the engine's timeouts; no connection yet."""
        _, connect_args = engine.dialect.create_connect_args(engine.url)
        for key in _SQLALCHEMY_ONLY:
            connect_args.pop(key, None)
        pool = asyncpg.create_pool(
            min_size=0,
            max_size=max_size,
            reset=_no_reset,
            timeout=acquire_timeout_s,  # connect timeout, seconds
            command_timeout=statement_timeout_ms / 1000 + 5,
            server_settings={
                "statement_timeout": str(statement_timeout_ms),
                "application_name": APPLICATION_NAME,
            },
            **connect_args,
        )
        await pool  # min_size=0: creates the pool object, connects nothing
        return cls(pool, acquire_timeout_s=acquire_timeout_s)

    def stats(self) -> dict[str, int]:
        """Connections open, idle and in use, and the bound (for the pool gauges)."""
        size = self._pool.get_size()
        idle = self._pool.get_idle_size()
        return {"in_use": size - idle, "idle": idle, "max": self._pool.get_max_size()}

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        count_store()
        if tracing.enabled():
            with tracing.span(
                statement_name(sql),
                {"db.system": "postgresql", "db.statement": sql, "db.pool": "read"},
                kind=tracing.SpanKind.CLIENT,
            ) as span:
                rows = await self._fetch(sql, *args)
                if span is not None:
                    span.set_attribute("db.rows", len(rows))
                return rows
        return await self._fetch(sql, *args)

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with translate_store_errors():
            try:
                connection = await self._pool.acquire(timeout=self._acquire_timeout_s)
            except TimeoutError as error:
                raise StoreUnavailable("no database connection available in time") from error
            try:
                rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
            except BaseException as error:
                # Whatever went wrong, this connection is never lent again: an
                # error can leave asyncpg mid-protocol, and `_no_reset` would not
                # notice. Terminating cannot fail; the release below then frees
                # the holder, which reconnects lazily. A connection that closed
                # itself was already handed back.
                with contextlib.suppress(asyncpg.InterfaceError):
                    connection.terminate()
                if isinstance(error, asyncpg.InternalClientError):
                    # The connection was mid-protocol when lent: it had taken an
                    # error the server sent unasked (shutdown, pg_terminate_backend)
                    # and the EOF that follows had not arrived yet. Nothing else can
                    # put a pooled connection in that state (each read has its own).
                    raise StoreUnavailable("database connection lost") from error
                raise
            finally:
                await self._pool.release(connection)
            return rows

    async def close(self, *, timeout_s: float = 5.0) -> None:
        """Close gracefully, or terminate what does not close within `timeout_s`."""
        try:
            await asyncio.wait_for(self._pool.close(), timeout_s)
        except TimeoutError:
            self._pool.terminate()
