"""Fresh, migrated databases for tests (store tests and API tests alike).

    url = await database_for_tests()        # postgresql+asyncpg://... of a new database
    ...
    await reset_database_for_tests(url)     # optional: empty it between tests
    await drop_database_for_tests(url)      # optional: all are dropped at exit anyway

Where the databases live:
- `ALLOCATION_API_TEST_DATABASE_URL` set (a server URL, e.g. CI's postgres
  service, `postgresql://user:pass@host:5432/postgres`): each call creates a
  uniquely named database on that server, using the URL's database (default
  `postgres`) for CREATE/DROP DATABASE;
- otherwise ONE embedded PostgreSQL per test process is started under a temp
  directory on first use, reused by every later call, and stopped and
  deleted when the process exits.

Every database is created empty and migrated with the real migrations, so
tests exercise the schema production runs. `reset` is the only code allowed
to bypass the append-only guard on `allocation_event`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import tempfile
import threading
import uuid
from pathlib import Path

from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from allocation_api.store.embedded import EmbeddedPostgres, is_abandoned, stop_abandoned
from allocation_api.store.migrate import run_migrations
from allocation_api.store.urls import asyncpg_url, database_name, with_database

__all__ = [
    "SERVER_URL_ENV",
    "ScratchDatabases",
    "database_for_tests",
    "directory_for_test_server",
    "drop_database_for_tests",
    "reset_database_for_tests",
]

SERVER_URL_ENV = "ALLOCATION_API_TEST_DATABASE_URL"
NAME_PREFIX = "allocation_test_"
_TEMP_PREFIX = "allocation-api-test-pg-"
_OWNER_FILE = "owner.pid"

# Every table of the owned store, emptied by `reset`.
_OWNED_TABLES = (
    "allocation",
    "allocation_event",
    "case_information",
    "pom_detail",
    "responsibility_override",
    "parole_review",
    "early_allocation",
    "idempotency_key",
    "event_outbox",
    "calculated_handover",
    "case_event",
)


class ScratchDatabases:
    """Creates throw-away databases on one server, started lazily and at most once.

    `server_url` picks the server explicitly; None means: the environment
    variable if set, else an embedded server private to this process.
    """

    def __init__(self, server_url: str | None = None) -> None:
        self._server_url = server_url
        self._lock = threading.Lock()
        self._admin_url: str | None = None
        self._embedded: EmbeddedPostgres | None = None
        self._temp_dir: Path | None = None
        self._created: set[str] = set()

    async def create(self) -> str:
        """Create a new, empty, migrated database and return its asyncpg URL."""
        admin_url = await asyncio.to_thread(self._ensure_server)
        name = f"{NAME_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"
        await _admin_execute(admin_url, f'CREATE DATABASE "{name}"')
        self._created.add(name)
        url = with_database(admin_url, name)
        await run_migrations(url)
        return url

    async def drop(self, url: str) -> None:
        """Drop a database made by `create`, disconnecting anyone still in it."""
        name = _test_database_name(url)
        admin_url = await asyncio.to_thread(self._ensure_server)
        await _admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.discard(name)

    async def reset(self, url: str) -> None:
        """Empty every owned table (history included) and restart identities, atomically."""
        _test_database_name(url)
        engine = create_async_engine(asyncpg_url(url), poolclass=pool.NullPool)
        guard = "ALTER TABLE allocation_event {} TRIGGER allocation_event_append_only"
        try:
            async with engine.begin() as connection:
                await connection.exec_driver_sql(guard.format("DISABLE"))
                await connection.exec_driver_sql(
                    f"TRUNCATE {', '.join(_OWNED_TABLES)} RESTART IDENTITY"
                )
                await connection.exec_driver_sql(guard.format("ENABLE"))
        finally:
            await engine.dispose()

    def close(self) -> None:
        """Drop leftover databases (external server) or stop and delete the embedded one."""
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None
        elif self._admin_url is not None and self._created:
            # Called at exit or outside any loop: a private loop is fine here.
            with contextlib.suppress(Exception):
                asyncio.run(_drop_all(self._admin_url, sorted(self._created)))
        self._created.clear()
        self._admin_url = None

    def _ensure_server(self) -> str:
        """URL of the maintenance database; blocks while an embedded server starts."""
        with self._lock:
            if self._admin_url is None:
                self._admin_url = self._start()
            return self._admin_url

    def _start(self) -> str:
        configured = self._server_url or os.environ.get(SERVER_URL_ENV)
        if not configured:
            _remove_abandoned_servers()
            self._temp_dir = directory_for_test_server()
            self._embedded = EmbeddedPostgres(self._temp_dir)
            self._embedded.start()
            configured = self._embedded.url("postgres")
        # Registered after pgserver's own exit hook, so it runs before it.
        atexit.register(self.close)
        return with_database(configured, database_name(configured) or "postgres")


_default = ScratchDatabases()


async def database_for_tests() -> str:
    """A new, empty, migrated database on this process's test server (its asyncpg URL)."""
    return await _default.create()


async def drop_database_for_tests(url: str) -> None:
    """Drop a database made by `database_for_tests`."""
    await _default.drop(url)


async def reset_database_for_tests(url: str) -> None:
    """Empty every owned table of a database made by `database_for_tests`."""
    await _default.reset(url)


def directory_for_test_server() -> Path:
    """A new temporary directory for an embedded test server, marked with this
    process's id.

    Named so that a later test run finds it if this process is killed
    (`_remove_abandoned_servers`); the owner's id keeps another test process
    from taking a server this one has stopped on purpose (a restart test) for
    an abandoned one.
    """
    directory = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX))
    (directory / _OWNER_FILE).write_text(str(os.getpid()))
    return directory


def _owner_alive(directory: Path) -> bool:
    try:
        pid = int((directory / _OWNER_FILE).read_text())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def _remove_abandoned_servers() -> None:
    """Stop and delete embedded test servers whose test process was killed.

    Normally the exit hook does this; a process killed outright cannot run
    it, and its server would otherwise run until the machine restarts. A
    directory whose owning process still runs is left alone, whatever state
    its server is in.
    """
    for directory in Path(tempfile.gettempdir()).glob(f"{_TEMP_PREFIX}*"):
        if _owner_alive(directory):
            continue
        pgdata = directory / "pgdata"
        if is_abandoned(pgdata):
            stop_abandoned(pgdata)
            shutil.rmtree(directory, ignore_errors=True)


def _test_database_name(url: str) -> str:
    name = database_name(url)
    if name is None or not name.startswith(NAME_PREFIX):
        raise ValueError(f"not a test database: {name!r}")
    return name


async def _admin_execute(admin_url: str, sql: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    engine = create_async_engine(
        asyncpg_url(admin_url), poolclass=pool.NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(sql)
    finally:
        await engine.dispose()


async def _drop_all(admin_url: str, names: list[str]) -> None:
    for name in names:
        await _admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
