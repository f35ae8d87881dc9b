"""The async engine, its sessions, and the readiness ping.

One engine per process (owned by the app lifespan). Every SQL statement
SQLAlchemy sends is counted into the per-request `CallCounter` through a
`before_cursor_execute` hook, so GraphQL responses can report
`extensions.calls.store` and tests can pin N+1 behaviour. That hook fires
only for statements: with asyncpg, BEGIN/COMMIT/ROLLBACK go through the
driver's transaction API, the pool's pre-ping through the driver's own
ping, and the dialect's first-connect probes run with events disabled, so
none of those are counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api import tracing
from allocation_api.calls import count_store
from allocation_api.errors import StoreUnavailable
from allocation_api.store.failures import StoreConstraintViolation, translate_store_errors
from allocation_api.store.urls import asyncpg_url

__all__ = [
    "StoreConstraintViolation",
    "StoreSession",
    "asyncpg_url",
    "create_engine",
    "ping",
    "session_factory",
    "translate_store_errors",
]

APPLICATION_NAME = "allocation-api"

_log = logging.getLogger(__name__)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 5.0,
    statement_timeout_ms: int = 10_000,
) -> AsyncEngine:
    """An asyncpg engine with bounded pool waits and a server-side statement timeout.

    `pool_pre_ping` replaces connections the server closed while idle (a
    restart, an idle timeout) instead of failing the next request. The
    client-side `command_timeout` is a backstop for a server that stops
    answering altogether, which `statement_timeout` cannot catch.
    """
    engine = create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        # jsonb columns (the owned-records read) decode with orjson, not stdlib json.
        json_deserializer=orjson.loads,
        json_serializer=_json_text,
        connect_args={
            "timeout": pool_timeout,  # asyncpg connect timeout, seconds
            "command_timeout": statement_timeout_ms / 1000 + 5,
            "server_settings": {
                "statement_timeout": str(statement_timeout_ms),
                "application_name": APPLICATION_NAME,
            },
        },
    )
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    event.listen(engine.sync_engine, "after_cursor_execute", _end_statement_span)
    event.listen(engine.sync_engine, "handle_error", _fail_statement_span)
    return engine


class StoreSession(AsyncSession):
    """An AsyncSession whose `close()` fails as `StoreUnavailable`, never as a driver error.

    Closing rolls back a transaction still open (a read's implicit one). When
    the server dropped the connection after the read (a restart, a failover),
    that rollback fails; callers close sessions outside
    `translate_store_errors()` (`async with sessions() as session:` around a
    repository read), so the asyncpg/SQLAlchemy error would otherwise reach
    the GraphQL layer as an unexpected one (INTERNAL) instead of
    STORE_UNAVAILABLE. A rollback cannot fail because of data, so every
    driver error here means the connection is gone: it is invalidated (never
    pooled again) and reported as the store being unavailable.
    """

    async def close(self) -> None:
        try:
            await super().close()
        except (sa_exc.DBAPIError, OSError) as error:
            with contextlib.suppress(Exception):
                await self.invalidate()
            raise StoreUnavailable("database connection lost") from error


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (resolvers map them afterwards)."""
    return async_sessionmaker(engine, class_=StoreSession, expire_on_commit=False)


async def ping(engine: AsyncEngine, *, timeout_s: float = 2.0) -> bool:
    """True when the database answers `SELECT 1` within `timeout_s` (readiness probe)."""
    try:
        async with asyncio.timeout(timeout_s), engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
    except Exception as error:  # readiness must answer, whatever went wrong
        _log.warning("database ping failed: %s", type(error).__name__)
        return False
    return True


def _count_statement(
    _conn: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, _many: bool
) -> None:
    count_store()
    if tracing.enabled() and context is not None:
        # One span per statement, ended by the after-execute or error hook. The
        # asyncio task's context reaches this greenlet, so the span's parent is
        # the current one (the operation, a command).
        head = statement.lstrip().split(None, 1)
        context._allocation_api_span = tracing.start_span(
            f"sql {head[0].upper()}" if head else "sql",
            {"db.system": "postgresql", "db.statement": statement, "db.pool": "write"},
            kind=tracing.SpanKind.CLIENT,
        )


def _end_statement_span(*args: Any) -> None:
    context = args[4]
    started = getattr(context, "_allocation_api_span", None)
    if started is not None:
        context._allocation_api_span = None
        tracing.end_span(started)


def _fail_statement_span(exception_context: Any) -> None:
    context = exception_context.execution_context
    started = getattr(context, "_allocation_api_span", None)
    if started is not None:
        context._allocation_api_span = None
        tracing.end_span(started, exception_context.original_exception)
