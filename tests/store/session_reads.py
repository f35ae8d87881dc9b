"""Reads of whole table rows on a session, for tests to check what the store holds.

The service reads through `store/reads.py` and `store/owned_records.py` on
the read pool; these read the same rows as table models, one statement per
call, as an independent oracle and as a simple probe of a session.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.store.failures import translate_store_errors
from allocation_api.store.tables import (
    Allocation,
    CaseInformation,
    EarlyAllocation,
    ParoleReview,
    ResponsibilityOverride,
)

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


def _unique(keys: Iterable[K]) -> list[K]:
    return list(dict.fromkeys(keys))


def _text_array(name: str, values: Sequence[str]) -> sa.BindParameter[Sequence[str]]:
    value: Sequence[str] = list(values)
    return sa.bindparam(name, value, type_=pg.ARRAY(sa.Text))


def _group(keys: Iterable[K], rows: Iterable[R], *, key: Callable[[R], K]) -> dict[K, list[R]]:
    grouped: dict[K, list[R]] = {k: [] for k in keys}
    for row in rows:
        grouped[key(row)].append(row)
    return grouped


@translate_store_errors()
async def allocations_by_offender_nos(
    session: AsyncSession, nos: Sequence[str]
) -> dict[str, Allocation]:
    """Current allocation rows by prisoner number (1 statement)."""
    keys = _unique(nos)
    if not keys:
        return {}
    statement = select(Allocation).where(
        col(Allocation.offender_no) == sa.any_(_text_array("offender_nos", keys))
    )
    rows = (await session.exec(statement)).all()
    return {row.offender_no: row for row in rows}


@translate_store_errors()
async def case_information_by_offender_nos(
    session: AsyncSession, nos: Sequence[str]
) -> dict[str, CaseInformation]:
    """Case information by prisoner number (1 statement)."""
    keys = _unique(nos)
    if not keys:
        return {}
    statement = select(CaseInformation).where(
        col(CaseInformation.offender_no) == sa.any_(_text_array("offender_nos", keys))
    )
    rows = (await session.exec(statement)).all()
    return {row.offender_no: row for row in rows}


@translate_store_errors()
async def responsibility_overrides_by_offender_nos(
    session: AsyncSession, nos: Sequence[str]
) -> dict[str, ResponsibilityOverride]:
    """Responsibility overrides by prisoner number (1 statement)."""
    keys = _unique(nos)
    if not keys:
        return {}
    statement = select(ResponsibilityOverride).where(
        col(ResponsibilityOverride.offender_no) == sa.any_(_text_array("offender_nos", keys))
    )
    rows = (await session.exec(statement)).all()
    return {row.offender_no: row for row in rows}


@translate_store_errors()
async def parole_reviews_by_offender_nos(
    session: AsyncSession, nos: Sequence[str]
) -> dict[str, list[ParoleReview]]:
    """Parole reviews per prisoner, in the order they were recorded (1 statement)."""
    keys = _unique(nos)
    if not keys:
        return {}
    statement = (
        select(ParoleReview)
        .where(col(ParoleReview.offender_no) == sa.any_(_text_array("offender_nos", keys)))
        .order_by(col(ParoleReview.id))
    )
    rows = (await session.exec(statement)).all()
    return _group(keys, rows, key=lambda row: row.offender_no)


@translate_store_errors()
async def early_allocations_by_offender_nos(
    session: AsyncSession, nos: Sequence[str]
) -> dict[str, list[EarlyAllocation]]:
    """Early allocation assessments per prisoner, oldest first: the latest is last (1 statement)."""
    keys = _unique(nos)
    if not keys:
        return {}
    statement = (
        select(EarlyAllocation)
        .where(col(EarlyAllocation.offender_no) == sa.any_(_text_array("offender_nos", keys)))
        .order_by(col(EarlyAllocation.created_at), col(EarlyAllocation.id))
    )
    rows = (await session.exec(statement)).all()
    return _group(keys, rows, key=lambda row: row.offender_no)
