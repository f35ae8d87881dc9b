"""The embedded PostgreSQL used by `dev`: data survives a restart, and stop really stops."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from allocation_api.store.embedded import (
    EmbeddedPostgres,
    is_abandoned,
    start_embedded,
    stop_abandoned,
)
from allocation_api.store.engine import create_engine, session_factory
from allocation_api.store.migrate import run_migrations
from allocation_api.store.writes import lock_allocation
from tests.store.session_reads import allocations_by_offender_nos

NEVER_A_LIVE_PID = 2**22 + 12_345  # above Linux's default pid_max


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cluster for the module (initdb is the slow part); each test starts and stops it."""
    return tmp_path_factory.mktemp("embedded") / "allocation-api"


async def test_data_survives_a_stop_and_start(data_dir: Path) -> None:
    pgdata = data_dir / "pgdata"

    server, url = await start_embedded(data_dir)
    try:
        assert url.startswith("postgresql+asyncpg://postgres@/allocation?host=")
        await run_migrations(url)
        engine = create_engine(url)
        async with session_factory(engine)() as session, session.begin():
            await lock_allocation(session, "A1234BC", "LEI")
        await engine.dispose()
    finally:
        await asyncio.to_thread(server.stop)
    assert not (pgdata / "postmaster.pid").exists(), "stop() left the server running"

    # A process that died without letting go must not keep the next server alive.
    handles = pgdata / ".handle_pids.json"
    handles.write_text(json.dumps([NEVER_A_LIVE_PID]))

    server, url = await start_embedded(data_dir)
    try:
        await run_migrations(url)  # already at head: nothing to do
        engine = create_engine(url)
        async with session_factory(engine)() as session:
            found = await allocations_by_offender_nos(session, ["A1234BC"])
        await engine.dispose()
    finally:
        await asyncio.to_thread(server.stop)
    assert found["A1234BC"].prison_code == "LEI"
    assert not (pgdata / "postmaster.pid").exists()


async def test_a_server_whose_users_all_died_is_recognised_and_stopped(data_dir: Path) -> None:
    server, _ = await start_embedded(data_dir)
    try:
        assert not is_abandoned(server.pgdata)  # this process still uses it
        # What a test process killed by SIGKILL leaves: a running server, no live user.
        (server.pgdata / ".handle_pids.json").write_text(json.dumps([NEVER_A_LIVE_PID]))
        assert is_abandoned(server.pgdata)

        await asyncio.to_thread(stop_abandoned, server.pgdata)

        assert not (server.pgdata / "postmaster.pid").exists()
    finally:
        await asyncio.to_thread(server.stop)


@pytest.mark.parametrize("name", ["Allocation", "alloc-ation", "a; DROP DATABASE x", ""])
def test_unsafe_database_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="database name"):
        EmbeddedPostgres(tmp_path, database=name)


def test_a_url_needs_a_running_server(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not running"):
        EmbeddedPostgres(tmp_path).url()
