"""Reads and writes of the stored handover (`calculated_handover`).

Reads for the request path take a `Reader` (one statement per batch, as
`reads.py`); the writes run inside the caller's transaction. `SessionReader`
lets a command run the request path's reads (`owned_records.py`) on its own
transaction's connection, so a recalculation sees what that transaction has
just written and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api import tracing
from allocation_api.calls import count_store
from allocation_api.store.read_pool import Reader, statement_name
from allocation_api.store.views import CalculatedHandoverView, column_count, columns

__all__ = [
    "PublishedHandover",
    "SessionReader",
    "delete_handover",
    "handover_locked",
    "handovers_by_offender_nos",
    "lock_handover_key",
    "published_handover",
    "write_handover",
]

_SELECT = (
    "SELECT "  # noqa: S608 - column names from the table model
    + columns(CalculatedHandoverView, "h")
    + " FROM calculated_handover h WHERE h.offender_no = ANY($1::text[])"
)

_UPSERT = """
    INSERT INTO calculated_handover AS h
        (offender_no, start_date, handover_date, responsibility, reason, last_calculated_at)
    VALUES ($1, $2, $3, $4, $5, now())
    ON CONFLICT (offender_no) DO UPDATE SET
        start_date = excluded.start_date,
        handover_date = excluded.handover_date,
        responsibility = excluded.responsibility,
        reason = excluded.reason,
        last_calculated_at = now(),
        updated_at = now()
    """

# A namespace of its own for the per-prisoner advisory lock (the POM locks
# use 64-bit keys from a hash; this is the two-int form, so they never meet).
_LOCK_NAMESPACE = 0x48414E44  # "HAND"


class SessionReader:
    """A `Reader` on the connection of an open session's transaction.

    The asyncpg dialect begins a transaction on its first statement sent
    through SQLAlchemy; statements sent here before that would run in
    autocommit. The writers below therefore take `lock_handover_key` (an
    SQLAlchemy statement) first, and a command's own writes precede it anyway.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _driver(self) -> asyncpg.Connection:
        connection = await self._session.connection()
        raw = await connection.get_raw_connection()
        return raw.driver_connection

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        driver = await self._driver()
        count_store()
        with _traced(sql):
            return await driver.fetch(sql, *args)  # type: ignore[no-any-return]

    async def execute(self, sql: str, *args: Any) -> str:
        """Run one statement; the command tag (`DELETE 1`, ...)."""
        driver = await self._driver()
        count_store()
        with _traced(sql):
            return await driver.execute(sql, *args)  # type: ignore[no-any-return]


def _traced(sql: str) -> AbstractContextManager[object]:
    """A statement span like the read pool's, on the write transaction's connection."""
    return tracing.span(
        statement_name(sql),
        {"db.system": "postgresql", "db.statement": sql, "db.pool": "write"},
        kind=tracing.SpanKind.CLIENT,
    )


async def handovers_by_offender_nos(
    reader: Reader, nos: Sequence[str]
) -> dict[str, CalculatedHandoverView]:
    """ONE statement; only the numbers with a stored row are present."""
    unique = list(dict.fromkeys(nos))
    if not unique:
        return {}
    rows = await reader.fetch(_SELECT, unique)
    return {row[0]: CalculatedHandoverView.from_row(row) for row in rows}


async def lock_handover_key(session: AsyncSession, offender_no: str) -> None:
    """Serialise every recalculation of one prisoner until the transaction ends.

    Two writers (a command and the batch job, or two replicas of the job)
    then read, compare and write one after the other, so each sees the
    other's result and "changed" is reported once.
    """
    # Through SQLAlchemy, not the driver: the asyncpg dialect begins the
    # transaction lazily, on its first statement, so this one begins it and the
    # driver-level statements of `SessionReader` that follow run inside it.
    connection = await session.connection()
    await connection.execute(
        sa.text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:offender_no))"),
        {"namespace": _LOCK_NAMESPACE, "offender_no": offender_no},
    )


async def handover_locked(session: AsyncSession, offender_no: str) -> CalculatedHandoverView | None:
    """The stored row, read under `lock_handover_key` (take it first)."""
    found = await handovers_by_offender_nos(SessionReader(session), [offender_no])
    return found.get(offender_no)


async def write_handover(
    session: AsyncSession,
    offender_no: str,
    *,
    start_date: dt.date | None,
    handover_date: dt.date | None,
    responsibility: str,
    reason: str,
) -> None:
    """Insert or replace the prisoner's row (`last_calculated_at` and `updated_at` now)."""
    await SessionReader(session).execute(
        _UPSERT, offender_no, start_date, handover_date, responsibility, reason
    )


async def delete_handover(session: AsyncSession, offender_no: str) -> bool:
    """Remove the prisoner's row (a released prisoner starts clean); True if there was one."""
    status = await SessionReader(session).execute(
        "DELETE FROM calculated_handover WHERE offender_no = $1", offender_no
    )
    return bool(status != "DELETE 0")


@dataclass(frozen=True, slots=True)
class PublishedHandover:
    """What `GET /api/handovers` answers from: the stored row, the COM recorded in the
    case information and the primary POM recorded on the allocation."""

    handover: CalculatedHandoverView
    com_name: str | None
    com_email: str | None
    pom_staff_id: int | None
    pom_name: str | None


_PUBLISHED = (
    "SELECT "  # noqa: S608 - column names from the table model
    + columns(CalculatedHandoverView, "h")
    + """, c.com_name, c.com_email, a.primary_pom_staff_id, a.primary_pom_name
    FROM calculated_handover h
    LEFT JOIN case_information c ON c.offender_no = h.offender_no
    LEFT JOIN allocation a ON a.offender_no = h.offender_no
    WHERE h.offender_no = $1
    """
)
_HANDOVER_COLUMNS = column_count(CalculatedHandoverView)


async def published_handover(reader: Reader, offender_no: str) -> PublishedHandover | None:
    """ONE statement; None when no handover is stored for the prisoner."""
    rows = await reader.fetch(_PUBLISHED, offender_no)
    if not rows:
        return None
    row = rows[0]
    com_name, com_email, staff_id, pom_name = row[_HANDOVER_COLUMNS:]
    return PublishedHandover(
        CalculatedHandoverView.from_row(row[:_HANDOVER_COLUMNS]),
        com_name,
        com_email,
        staff_id,
        pom_name,
    )
