"""Programmatic schema migrations (alembic `upgrade head`).

Used by `allocation-api migrate`, by `dev` at start-up and by the test
database helper. The alembic scripts ship inside the package, so no
`alembic.ini` is needed.

Alembic keeps the running migration's context in module globals, so two
migrations interleaved on one event loop would trample each other. Each run
therefore happens in a worker thread, with its own event loop, one at a
time per process (a lock); across processes, the advisory lock taken in
`env.py` serialises replicas starting together. Awaiting `run_migrations`
from inside a running event loop is therefore safe.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

from allocation_api.store.failures import translate_store_errors
from allocation_api.store.urls import asyncpg_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_one_at_a_time = threading.Lock()


def alembic_config(url: str) -> Config:
    """An alembic `Config` for the packaged scripts, pointed at `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # configparser treats "%" as interpolation; passwords may contain it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["url"] = url
    return config


async def run_migrations(url: str) -> None:
    """Bring the database at `url` to the newest revision; a no-op when already there.

    Raises `StoreUnavailable` when the database cannot be reached.
    """
    await asyncio.to_thread(_run_in_private_loop, asyncpg_url(url))


def _run_in_private_loop(url: str) -> None:
    with _one_at_a_time:
        asyncio.run(_upgrade(url))


async def _upgrade(url: str) -> None:
    config = alembic_config(url)
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with translate_store_errors(), engine.connect() as connection:
            await connection.run_sync(_upgrade_on, config)
            await connection.commit()
    finally:
        await engine.dispose()


def _upgrade_on(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
