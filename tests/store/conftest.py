"""Database fixtures for the store tests: one migrated database for the session.

History rows cannot be deleted, so tests never clean up; they stay apart by
using prisoner numbers and staff ids nobody else uses (`new_offender_no`,
`new_staff_id`).
"""

from __future__ import annotations

import itertools
import string
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.store.engine import create_engine, session_factory
from allocation_api.store.read_pool import ReadPool
from allocation_api.store.testing import database_for_tests, drop_database_for_tests

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    url = await database_for_tests()
    yield url
    await drop_database_for_tests(url)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5, max_overflow=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def read_pool(engine: AsyncEngine) -> AsyncIterator[ReadPool]:
    """The request path's reads run on this, as in the service (`read_pool.py`)."""
    pool = await ReadPool.open(
        engine, max_size=5, acquire_timeout_s=5.0, statement_timeout_ms=10_000
    )
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


def _offender_no(n: int) -> str:
    letters = string.ascii_uppercase
    return f"{letters[n // 10_000 % 26]}{n % 10_000:04d}{letters[n // 260_000 % 26]}Z"


@pytest.fixture(scope="session")
def new_offender_no() -> Callable[[], str]:
    """Returns a function giving a valid prisoner number not used before in this session."""
    return lambda: _offender_no(next(_numbers))


@pytest.fixture(scope="session")
def new_staff_id() -> Callable[[], int]:
    """Returns a function giving a staff id not used before in this session."""
    return lambda: 100_000 + next(_numbers)
