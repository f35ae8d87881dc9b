"""Alembic environment for the owned store.

Two ways in:
- `store.migrate.run_migrations(url)` hands over an open *sync* connection
  (from `AsyncConnection.run_sync`) in `config.attributes["connection"]`, so
  migrating works from inside a running event loop (the CLI, `dev`, tests).
- The plain `alembic` command (with `-x url=...` or `sqlalchemy.url`) gets a
  private event loop via `asyncio.run`, or emits SQL in offline mode.

Every online run takes a transaction-scoped advisory lock first, so replicas
starting together migrate one at a time; the later ones then find the schema
at head and do nothing. Postgres DDL is transactional, so a failed run
leaves nothing half-applied.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

# Any fixed 64-bit number works; this one spells "allocation migrations".
MIGRATION_LOCK_KEY = 0x0A110CA7_1047_0001

config = context.config


def _url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or set sqlalchemy.url")
    return str(url)


def run_offline() -> None:
    """Print the SQL instead of running it (`alembic upgrade head --sql`)."""
    context.configure(url=_url(), literal_binds=True, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


def run_on_connection(connection: Connection) -> None:
    """Migrate on an open sync connection, serialised by the advisory lock."""
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        context.run_migrations()


async def run_online_async() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on_connection)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_offline()
elif isinstance(config.attributes.get("connection"), Connection):
    run_on_connection(config.attributes["connection"])
else:
    asyncio.run(run_online_async())
