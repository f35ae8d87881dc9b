"""Read-only views of owned rows, for the hot read path.

Building a SQLModel table object costs ~190 us (pydantic validation plus
SQLAlchemy instrumentation of every attribute): a third of a 50-prisoner
page's CPU. Rows the read path only looks at are built as these slotted
dataclasses instead, from the row's columns in field order
(`from_row`; asyncpg decodes the types in C) or from the JSON Postgres makes
of the row (`from_json`, `to_jsonb`, for kinds read as documents); the
database's constraints already guarantee the values. The table models
(`tables.py`) define the rows: each view is bound to its table (`view_of`),
which checks when this module loads that the view's fields are the table's
columns in order, and `columns()` builds a SELECT list from the table. Field
types are declared again here for the type checker; a test holds them equal
to the table's. Writes always go through the table models (`writes.py`).

Read-only by convention, not `frozen`: a frozen dataclass sets each field
through `object.__setattr__`, and an 18-field view then costs 7 us to build
instead of 0.5 us (measured with timeit), which for a page's 100 views was a
tenth of its CPU. Nothing hashes a view or keeps one beyond its request.
Enum members are looked up in a dict (`_members`), not called (`Tier("A")`
costs about 1 us, the lookup 0.08 us).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, TypeAlias, TypeVar

import orjson
from sqlmodel import SQLModel

from allocation_api.store import tables
from allocation_api.store.enums import (
    AllocationEventType,
    AllocationTrigger,
    EarlyAllocationOutcome,
    OverrideReason,
    OverrideResponsibilityReason,
    PomStatus,
    PomType,
    ProbationService,
    Responsibility,
    ResponsibilityOverride,
    RoshLevel,
    Tier,
)

E = TypeVar("E", bound=Enum)
V = TypeVar("V", bound=type)

_TABLES: dict[type, type[SQLModel]] = {}


def table_columns(table: type[SQLModel]) -> list[str]:
    """The table's column names, in the order the table model declares them."""
    return [column.name for column in table.__table__.columns]  # type: ignore[attr-defined]


def view_of(table: type[SQLModel]) -> Callable[[V], V]:
    """Bind a view to the table it reads: its fields must be the table's columns, in order."""

    def bind(view: V) -> V:
        names = [f.name for f in fields(view)]
        if names != table_columns(table):
            raise TypeError(
                f"{view.__name__} must have the columns of {table.__name__} in order: "
                f"{table_columns(table)}, not {names}"
            )
        _TABLES[view] = table
        return view

    return bind


def columns(view: type, alias: str) -> str:
    """The SELECT list of a view's table, in column order (what `from_row` takes)."""
    return ", ".join(f"{alias}.{name}" for name in table_columns(_TABLES[view]))


def column_count(view: type) -> int:
    """How many columns `columns(view, ...)` selects."""
    return len(table_columns(_TABLES[view]))


def _members(enum: type[E]) -> dict[Any, E]:
    """Members by value, for building views without calling the enum."""
    return {member.value: member for member in enum}


_TIER = _members(Tier)
_POM_TYPE = _members(PomType)
_REASON = _members(OverrideReason)
_SERVICE = _members(ProbationService)
_ROSH = _members(RoshLevel)
_POM_STATUS = _members(PomStatus)
_EVENT = _members(AllocationEventType)
_TRIGGER = _members(AllocationTrigger)


JsonObject: TypeAlias = dict[str, Any]
"""A row as `to_jsonb` makes it: column name to JSON value. `from_json` reads
each member as its column's type; the table's constraints guarantee it."""


def _decoded(value: object) -> object:
    # asyncpg hands jsonb back as text unless a codec is set.
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def json_document(value: object) -> JsonObject:
    """A `to_jsonb(row)` column as the row's JSON object."""
    document = _decoded(value)
    if not isinstance(document, dict):
        raise TypeError(f"expected a JSON object, got {type(document).__name__}")
    return document


def json_documents(value: object) -> list[JsonObject]:
    """A `jsonb_agg(to_jsonb(row))` column as the rows' JSON objects, in its order."""
    documents = _decoded(value)
    if not isinstance(documents, list) or not all(isinstance(d, dict) for d in documents):
        raise TypeError(f"expected a JSON array of objects, got {type(documents).__name__}")
    return documents


def _choice(
    tier: str | None, pom_type: str | None, reasons: list[str] | None
) -> tuple[Tier | None, PomType | None, list[OverrideReason]]:
    """The tier, recommended POM type and override reasons an allocation (or one of
    its history events) recorded: the same three columns in both tables."""
    return (
        None if tier is None else _TIER[tier],
        None if pom_type is None else _POM_TYPE[pom_type],
        [_REASON[r] for r in reasons] if reasons else [],
    )


def _day(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


@view_of(tables.Allocation)
@dataclass(slots=True)
class AllocationView:
    offender_no: str
    prison_code: str
    primary_pom_staff_id: int | None
    primary_pom_name: str | None
    primary_pom_allocated_at: dt.datetime | None
    secondary_pom_staff_id: int | None
    secondary_pom_name: str | None
    allocated_at_tier: Tier | None
    recommended_pom_type: PomType | None
    override_reasons: list[OverrideReason]
    override_detail: str | None
    suitability_detail: str | None
    message: str | None
    created_by_username: str | None
    created_by_name: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> AllocationView:
        """From the table's columns in field order (asyncpg decodes the types)."""
        (no, prison, p_id, p_name, p_at, s_id, s_name, tier, pom_type, reasons) = row[:10]
        return cls(
            no,
            prison,
            p_id,
            p_name,
            p_at,
            s_id,
            s_name,
            *_choice(tier, pom_type, reasons),
            *row[10:],
        )


@view_of(tables.CaseInformation)
@dataclass(slots=True)
class CaseInformationView:
    offender_no: str
    tier: Tier | None
    probation_service: ProbationService | None
    manual_entry: bool
    mappa_level: int | None
    crn: str | None
    com_name: str | None
    com_email: str | None
    team_name: str | None
    ldu_code: str | None
    rosh_level: RoshLevel | None
    rosh_start_date: dt.date | None
    enhanced_resourcing: bool | None
    active_vlo: bool
    imported_at: dt.datetime | None
    updated_by_username: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> CaseInformationView:
        """From the table's columns in field order (asyncpg decodes the types)."""
        no, tier, service, manual, mappa, crn, com_name, com_email, team, ldu = row[:10]
        rosh, rosh_start, enhanced, vlo, imported, by, created, updated, version = row[10:]
        return cls(
            no,
            None if tier is None else _TIER[tier],
            None if service is None else _SERVICE[service],
            manual,
            mappa,
            crn,
            com_name,
            com_email,
            team,
            ldu,
            None if rosh is None else _ROSH[rosh],
            rosh_start,
            enhanced,
            vlo,
            imported,
            by,
            created,
            updated,
            version,
        )


@view_of(tables.PomDetail)
@dataclass(slots=True)
class PomDetailView:
    staff_id: int
    prison_code: str
    working_pattern: float
    status: PomStatus
    updated_by_username: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> PomDetailView:
        """From the table's columns in field order (NUMERIC arrives as a Decimal)."""
        staff_id, prison, pattern, status = row[:4]
        return cls(staff_id, prison, float(pattern), _POM_STATUS[status], *row[4:])


@view_of(tables.ResponsibilityOverride)
@dataclass(slots=True)
class ResponsibilityOverrideView:
    offender_no: str
    responsibility: ResponsibilityOverride
    reason: OverrideResponsibilityReason
    reason_text: str | None
    created_by_username: str | None
    created_at: dt.datetime

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> ResponsibilityOverrideView:
        return cls(
            offender_no=row["offender_no"],
            responsibility=ResponsibilityOverride(row["responsibility"]),
            reason=OverrideResponsibilityReason(row["reason"]),
            reason_text=row["reason_text"],
            created_by_username=row["created_by_username"],
            created_at=dt.datetime.fromisoformat(row["created_at"]),
        )


@view_of(tables.ParoleReview)
@dataclass(slots=True)
class ParoleReviewView:
    id: int
    offender_no: str
    sentence_start_date: dt.date | None
    target_hearing_date: dt.date | None
    hearing_outcome: str | None
    outcome_is_release: bool | None
    completed: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> ParoleReviewView:
        return cls(
            id=row["id"],
            offender_no=row["offender_no"],
            sentence_start_date=_day(row["sentence_start_date"]),
            target_hearing_date=_day(row["target_hearing_date"]),
            hearing_outcome=row["hearing_outcome"],
            outcome_is_release=row["outcome_is_release"],
            completed=row["completed"],
            created_at=dt.datetime.fromisoformat(row["created_at"]),
            updated_at=dt.datetime.fromisoformat(row["updated_at"]),
        )


@view_of(tables.EarlyAllocation)
@dataclass(slots=True)
class EarlyAllocationView:
    id: int
    offender_no: str
    created_at: dt.datetime
    outcome: EarlyAllocationOutcome
    convicted_under_terrorism_act: bool
    high_profile: bool
    serious_crime_prevention_order: bool
    mappa_level_3: bool
    cppc_case: bool
    extremism_separation: bool | None
    due_for_release_in_less_than_24months: bool | None
    high_risk_of_serious_harm: bool | None
    mappa_level_2: bool | None
    pathfinder_process: bool | None
    other_reason: bool | None
    community_decision: bool | None
    created_by_username: str | None

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> EarlyAllocationView:
        return cls(
            **{
                **row,
                "created_at": dt.datetime.fromisoformat(row["created_at"]),
                "outcome": EarlyAllocationOutcome(row["outcome"]),
            }
        )


@view_of(tables.AllocationEvent)
@dataclass(slots=True)
class AllocationEventView:
    id: int
    offender_no: str
    prison_code: str
    event: AllocationEventType
    trigger: AllocationTrigger
    primary_pom_staff_id: int | None
    primary_pom_name: str | None
    secondary_pom_staff_id: int | None
    secondary_pom_name: str | None
    previous_primary_pom_staff_id: int | None
    previous_secondary_pom_staff_id: int | None
    allocated_at_tier: Tier | None
    recommended_pom_type: PomType | None
    override_reasons: list[OverrideReason]
    override_detail: str | None
    suitability_detail: str | None
    message: str | None
    created_by_username: str | None
    created_by_name: str | None
    created_at: dt.datetime
    allocation_version: int

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> AllocationEventView:
        """From the table's columns in field order (asyncpg decodes the types)."""
        (event_id, no, prison, event, trigger, p_id, p_name, s_id, s_name, prev_p, prev_s) = row[
            :11
        ]
        tier, pom_type, reasons = row[11:14]
        return cls(
            event_id,
            no,
            prison,
            _EVENT[event],
            _TRIGGER[trigger],
            p_id,
            p_name,
            s_id,
            s_name,
            prev_p,
            prev_s,
            *_choice(tier, pom_type, reasons),
            *row[14:],
        )


_RESPONSIBILITY = _members(Responsibility)


@view_of(tables.CalculatedHandover)
@dataclass(slots=True)
class CalculatedHandoverView:
    offender_no: str
    start_date: dt.date | None
    handover_date: dt.date | None
    responsibility: Responsibility
    reason: str
    last_calculated_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> CalculatedHandoverView:
        """From the table's columns in field order (asyncpg decodes the types)."""
        no, start, handover, responsibility = row[:4]
        return cls(no, start, handover, _RESPONSIBILITY[responsibility], *row[4:])
