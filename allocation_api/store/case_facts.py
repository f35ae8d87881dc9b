"""Writes of a prisoner's owned case facts: the responsibility override and parole reviews.

Run inside the caller's transaction, each a fixed small number of statements
(documented on each), with autoflush off like `writes.py`. Versioned
creation and replacement of the override go through `guards.write_versioned`;
what is here locks, changes or deletes a row the caller names, checking the
version in the statement itself.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.errors import Conflict
from allocation_api.store.failures import translate_store_errors
from allocation_api.store.tables import ParoleReview, ResponsibilityOverride

__all__ = [
    "delete_rows_of",
    "insert_parole_review",
    "lock_override",
    "lock_parole_review",
    "update_parole_review",
]


def _stale(current: int, expected: int) -> Conflict:
    return Conflict(
        f"The record is at version {current}, not {expected}: read it again",
        code="STALE_VERSION",
        current_version=current,
    )


@translate_store_errors()
async def lock_override(session: AsyncSession, offender_no: str) -> ResponsibilityOverride | None:
    """The prisoner's override locked FOR UPDATE, if there is one (1 statement)."""
    statement = (
        select(ResponsibilityOverride)
        .where(col(ResponsibilityOverride.offender_no) == offender_no)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    with session.no_autoflush:
        return (await session.exec(statement)).one_or_none()


@translate_store_errors()
async def lock_parole_review(
    session: AsyncSession, review_id: int, offender_no: str
) -> ParoleReview | None:
    """One review of this prisoner locked FOR UPDATE; None when the prisoner has no
    review with this id (1 statement)."""
    statement = (
        select(ParoleReview)
        .where(col(ParoleReview.id) == review_id, col(ParoleReview.offender_no) == offender_no)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    with session.no_autoflush:
        return (await session.exec(statement)).one_or_none()


@translate_store_errors()
async def insert_parole_review(session: AsyncSession, values: dict[str, Any]) -> ParoleReview:
    """Insert one review (version 1) and return it with its id (1 statement)."""
    statement = insert(ParoleReview).values(**values).returning(ParoleReview)
    with session.no_autoflush:
        return (await session.exec(statement)).scalars().one()  # type: ignore[no-any-return]


@translate_store_errors()
async def update_parole_review(
    session: AsyncSession, review: ParoleReview, values: dict[str, Any]
) -> ParoleReview:
    """Write `values` to a review locked at `review.version`; version + 1 (1 statement)."""
    statement = (
        sa.update(ParoleReview)
        .where(col(ParoleReview.id) == review.id, col(ParoleReview.version) == review.version)
        .values(**values, version=col(ParoleReview.version) + 1, updated_at=sa.func.now())
        .returning(ParoleReview)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    with session.no_autoflush:
        saved = (await session.exec(statement)).scalars().one_or_none()
    if saved is None:  # pragma: no cover - the row is locked at this version
        raise _stale(review.version + 1, review.version)
    return saved  # type: ignore[no-any-return]


def check_version(current: int, expected: int | None) -> None:
    """`expectedVersion` against a locked row's version (`Conflict` STALE_VERSION)."""
    if expected is not None and expected != current:
        raise _stale(current, expected)


@translate_store_errors()
async def delete_rows_of(session: AsyncSession, table: str, offender_no: str) -> int:
    """Delete every row of the prisoner in `table` (a name from the caller's fixed list,
    never input); how many there were (1 statement)."""
    connection = await session.connection()
    result = await connection.execute(
        sa.text(f"DELETE FROM {table} WHERE offender_no = :offender_no"),  # noqa: S608
        {"offender_no": offender_no},
    )
    return int(result.rowcount)
