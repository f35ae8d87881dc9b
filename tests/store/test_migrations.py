"""The migrations build exactly the schema the table classes describe, and run safely."""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel

import allocation_api
from allocation_api.store import tables
from allocation_api.store.migrate import alembic_config, run_migrations
from allocation_api.store.testing import database_for_tests, drop_database_for_tests

OWNED_TABLES = {
    "allocation",
    "allocation_event",
    "case_information",
    "pom_detail",
    "responsibility_override",
    "parole_review",
    "early_allocation",
    "idempotency_key",
    "calculated_handover",
    "case_event",
    "event_outbox",
}


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config("postgresql://unused/x")).get_current_head()
    assert head is not None
    return head


async def _current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def _schema_snapshot(engine: AsyncEngine) -> dict[str, Any]:
    def snapshot(sync: sa.Connection) -> dict[str, Any]:
        inspector = sa.inspect(sync)
        return {
            table: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                sorted(c["name"] or "" for c in inspector.get_check_constraints(table)),
                sorted(i["name"] or "" for i in inspector.get_indexes(table)),
            )
            for table in inspector.get_table_names()
        }

    async with engine.connect() as connection:
        return await connection.run_sync(snapshot)


async def _empty_database() -> str:
    """A fresh database taken back to no schema at all (which also exercises downgrade)."""
    url = await database_for_tests()
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_downgrade_to_base, url)
            await connection.commit()
        assert await _current_revision(engine) is None
        assert set(await _schema_snapshot(engine)) == {"alembic_version"}
    finally:
        await engine.dispose()
    return url


def _downgrade_to_base(connection: sa.Connection, url: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def test_migrations_build_every_table_on_an_empty_database_and_rerun_as_no_op() -> None:
    url = await _empty_database()
    engine = create_async_engine(url)
    try:
        await run_migrations(url)
        assert await _current_revision(engine) == _head()
        migrated = await _schema_snapshot(engine)
        assert set(migrated) == OWNED_TABLES | {"alembic_version"}

        await run_migrations(url)

        assert await _current_revision(engine) == _head()
        assert await _schema_snapshot(engine) == migrated
    finally:
        await engine.dispose()
        await drop_database_for_tests(url)


async def test_migrated_schema_matches_the_table_classes(engine: AsyncEngine) -> None:
    assert {table.name for table in SQLModel.metadata.sorted_tables} >= OWNED_TABLES
    assert tables.Allocation.__tablename__ == "allocation"

    async with engine.connect() as connection:
        diffs = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), SQLModel.metadata)
        )
    assert diffs == []


async def test_database_defaults_exist_exactly_where_the_table_classes_expect_them(
    engine: AsyncEngine,
) -> None:
    def defaults(sync: sa.Connection) -> dict[tuple[str, str], bool]:
        inspector = sa.inspect(sync)
        return {
            (table, column["name"]): column.get("default") is not None
            or column.get("identity") is not None
            for table in OWNED_TABLES
            for column in inspector.get_columns(table)
        }

    async with engine.connect() as connection:
        in_database = await connection.run_sync(defaults)
    in_classes = {
        (table.name, column.name): column.server_default is not None or column.identity is not None
        for table in SQLModel.metadata.sorted_tables
        if table.name in OWNED_TABLES
        for column in table.columns
    }
    assert in_database == in_classes


REPO_ROOT = Path(allocation_api.__file__).resolve().parent.parent

_MIGRATE_WHEN_TOLD = """
import asyncio, sys
from allocation_api.store.migrate import run_migrations
print("ready", flush=True)
sys.stdin.readline()
asyncio.run(run_migrations(sys.argv[1]))
"""


async def test_processes_migrating_the_same_database_at_once_all_succeed() -> None:
    """The advisory lock serialises them; without it all but one fail ('already exists')."""
    url = await _empty_database()
    try:
        children = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                _MIGRATE_WHEN_TOLD,
                url,
                cwd=REPO_ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(2)
        ]
        for child in children:  # all imported and waiting: release them together
            assert child.stdout is not None
            assert await asyncio.wait_for(child.stdout.readline(), 30) == b"ready\n"
        for child in children:
            assert child.stdin is not None
            child.stdin.write(b"go\n")
            await child.stdin.drain()
        results = [await asyncio.wait_for(child.communicate(), 30) for child in children]
        assert [child.returncode for child in children] == [0, 0], results

        engine = create_async_engine(url)
        assert await _current_revision(engine) == _head()
        assert set(await _schema_snapshot(engine)) == OWNED_TABLES | {"alembic_version"}
        await engine.dispose()
    finally:
        await drop_database_for_tests(url)


async def test_migrations_awaited_concurrently_in_one_process_run_one_at_a_time() -> None:
    url = await _empty_database()
    try:
        await asyncio.wait_for(
            asyncio.gather(run_migrations(url), run_migrations(url), run_migrations(url)), 30
        )
        engine = create_async_engine(url)
        assert await _current_revision(engine) == _head()
        await engine.dispose()
    finally:
        await drop_database_for_tests(url)


@pytest.mark.parametrize("url", ["postgresql://u:p%40ss@h/db", "postgres://u@h:5433/db"])
def test_alembic_config_points_at_the_packaged_scripts(url: str) -> None:
    config = alembic_config(url)
    assert config.attributes["url"] == url
    assert config.get_main_option("sqlalchemy.url") == url  # "%" survives interpolation
    assert ScriptDirectory.from_config(config).get_current_head() == "0009"


def _migrate(connection: sa.Connection, url: str, target: str, *, down: bool = False) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, target)


async def test_0009_keeps_the_meaning_of_stored_parole_reviews_and_overrides() -> None:
    """Derived `completed` / `outcome_is_release` become raw fields the rules read the same
    way; overrides get version 1 and their creation time as the update time."""
    url = await _empty_database()
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate, url, "0006")
            await connection.execute(
                sa.text(
                    """INSERT INTO parole_review (offender_no, target_hearing_date,
                         hearing_outcome, outcome_is_release, completed, updated_at) VALUES
                       ('A1111AA', '2030-01-01', NULL, true, true, '2024-03-04T10:00:00Z'),
                       ('A1111AA', '2030-01-01', NULL, false, true, '2024-03-04T10:00:00Z'),
                       ('A1111AA', '2030-01-01', 'Not Applicable', NULL, true,
                        '2024-03-04T10:00:00Z'),
                       ('A1111AA', '2030-01-01', 'Adjourned', NULL, true, now()),
                       ('A1111AA', '2030-01-01', NULL, NULL, false, now())"""
                )
            )
            await connection.execute(
                sa.text(
                    """INSERT INTO responsibility_override (offender_no, responsibility, reason,
                         created_at) VALUES ('A1111AA', 'PRISON', 'PRISONER_RECALLED',
                         '2024-01-01T00:00:00Z')"""
                )
            )
            await connection.run_sync(_migrate, url, "0009")
            rows = (
                await connection.execute(
                    sa.text(
                        "SELECT hearing_outcome, outcome_received_date, version"
                        " FROM parole_review ORDER BY id"
                    )
                )
            ).all()
            override = (
                await connection.execute(
                    sa.text("SELECT version, updated_at = created_at FROM responsibility_override")
                )
            ).one()
            await connection.run_sync(_migrate, url, "0006", down=True)
            back = (
                await connection.execute(
                    sa.text("SELECT completed, outcome_is_release FROM parole_review ORDER BY id")
                )
            ).all()
            await connection.commit()
        day = date(2024, 3, 4)
        assert [tuple(r) for r in rows] == [
            ("Release", None, 1),
            ("No Release", None, 1),
            ("Not Applicable", day, 1),
            ("Adjourned", None, 1),
            (None, None, 1),
        ]
        assert tuple(override) == (1, True)
        assert [tuple(r) for r in back] == [
            (True, True),
            (True, False),
            (True, False),
            (True, False),
            (False, None),
        ]
    finally:
        await engine.dispose()
        await drop_database_for_tests(url)
