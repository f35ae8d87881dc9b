"""The test-database helper other test suites build on."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from allocation_api.store.engine import create_engine, session_factory
from allocation_api.store.testing import (
    ScratchDatabases,
    _remove_abandoned_servers,
    database_for_tests,
    directory_for_test_server,
    drop_database_for_tests,
    reset_database_for_tests,
)
from allocation_api.store.urls import database_name, with_database
from allocation_api.store.writes import lock_allocation

from .test_history_append_only import AllocationEvent, append_event

DEAD_PID = 2**22 + 12_345  # above Linux's default pid_max


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_each_call_gives_a_new_migrated_database_and_drop_removes_it(
    database_url: str,
) -> None:
    first, second = await database_for_tests(), await database_for_tests()
    assert len({first, second, database_url}) == 3
    assert "allocation_event" in await _tables(first)

    await drop_database_for_tests(first)
    engine = create_async_engine(with_database(database_url, "postgres"))
    async with engine.connect() as connection:
        names = set(
            (await connection.execute(sa.text("SELECT datname FROM pg_database"))).scalars()
        )
    await engine.dispose()
    assert database_name(first) not in names
    assert database_name(second) in names
    await drop_database_for_tests(second)


async def test_reset_empties_every_table_history_included_and_keeps_the_guard() -> None:
    url = await database_for_tests()
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            await lock_allocation(session, "A1234BC", "LEI")
            await append_event(
                session,
                AllocationEvent(
                    offender_no="A1234BC",
                    prison_code="LEI",
                    event="ALLOCATE_PRIMARY_POM",
                    trigger="USER",
                    allocation_version=1,
                ),
            )
        await engine.dispose()

        await reset_database_for_tests(url)

        async with engine.connect() as connection:
            counts = [
                await connection.scalar(sa.text(f"SELECT count(*) FROM {table}"))
                for table in ("allocation", "allocation_event")
            ]
            assert counts == [0, 0]
            guard_enabled = await connection.scalar(
                sa.text(
                    "SELECT tgenabled FROM pg_trigger WHERE tgname = 'allocation_event_append_only'"
                )
            )
        assert guard_enabled == b"O"  # enabled again ("origin") for ordinary sessions
    finally:
        await engine.dispose()
        await drop_database_for_tests(url)


async def test_an_explicit_server_url_is_used_instead_of_an_embedded_server(
    database_url: str,
) -> None:
    """What CI does with ALLOCATION_API_TEST_DATABASE_URL (here: this session's server)."""
    server_url = with_database(database_url, "postgres").replace("+asyncpg", "")
    scratch = ScratchDatabases(server_url)
    url = await scratch.create()
    try:
        assert url.startswith("postgresql+asyncpg://")
        assert "allocation" in await _tables(url)
    finally:
        await scratch.drop(url)
    await asyncio.to_thread(scratch.close)


async def test_only_databases_made_for_tests_can_be_dropped_or_reset(database_url: str) -> None:
    production_like = with_database(database_url, "allocation")
    with pytest.raises(ValueError, match="not a test database"):
        await drop_database_for_tests(production_like)
    with pytest.raises(ValueError, match="not a test database"):
        await reset_database_for_tests(production_like)


def test_servers_left_behind_by_killed_test_processes_are_removed() -> None:
    """Only directories whose every recorded user is dead go (stopping: test_embedded)."""
    root = Path(tempfile.gettempdir())
    abandoned = Path(tempfile.mkdtemp(prefix="allocation-api-test-pg-", dir=root))
    in_use = Path(tempfile.mkdtemp(prefix="allocation-api-test-pg-", dir=root))
    starting = Path(tempfile.mkdtemp(prefix="allocation-api-test-pg-", dir=root))
    try:
        for directory, users in ((abandoned, [DEAD_PID]), (in_use, [DEAD_PID, os.getpid()])):
            (directory / "pgdata").mkdir()
            (directory / "pgdata" / ".handle_pids.json").write_text(json.dumps(users))
        (starting / "pgdata").mkdir()  # no handle list yet: another process is starting it

        _remove_abandoned_servers()

        assert not abandoned.exists()
        assert in_use.exists()
        assert starting.exists()
    finally:
        for directory in (abandoned, in_use, starting):
            shutil.rmtree(directory, ignore_errors=True)


def test_a_server_its_owner_stopped_on_purpose_is_not_taken_for_abandoned() -> None:
    """A restart test stops its own server (no handle left): while the test process
    that made the directory runs, another test process must not delete it."""
    owned = directory_for_test_server()
    orphaned = directory_for_test_server()
    try:
        for directory in (owned, orphaned):
            (directory / "pgdata").mkdir()
            (directory / "pgdata" / ".handle_pids.json").write_text(json.dumps([DEAD_PID]))
        (orphaned / "owner.pid").write_text(str(DEAD_PID))

        _remove_abandoned_servers()

        assert owned.exists()
        assert not orphaned.exists()
    finally:
        for directory in (owned, orphaned):
            shutil.rmtree(directory, ignore_errors=True)
