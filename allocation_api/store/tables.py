"""SQLModel table classes: the Python view of the owned schema.

The schema itself is created by the hand-written alembic migration; this
module must describe the same tables, columns, types, nullability, keys and
indexes (a test compares the migrated database with `SQLModel.metadata`).
CHECK constraints live only in the migration: the database is the guard, and
the repositories translate a violation into `StoreConstraintViolation`.

Columns the database fills (identity ids, `created_at`/`updated_at`,
`version`) default to None/0 on a freshly built object; every object read
back from the store, or returned by a repository write, has them set.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

from allocation_api.store import enums
from allocation_api.store.column_types import EnumText
from allocation_api.store.enums import (
    AllocationEventType,
    AllocationTrigger,
    CaseEventKind,
    EarlyAllocationOutcome,
    FactSource,
    OverrideReason,
    OverrideResponsibilityReason,
    PomStatus,
    PomType,
    ProbationService,
    RoshLevel,
    Tier,
)

_NOW = sa.text("now()")


def _offender_no(*, primary_key: bool = False) -> Any:
    return Field(sa_column=sa.Column(sa.String(7), primary_key=primary_key, nullable=False))


def _prison_code(*, primary_key: bool = False) -> Any:
    return Field(sa_column=sa.Column(sa.String(3), primary_key=primary_key, nullable=False))


def _timestamp(*, nullable: bool = False) -> Any:
    """timestamptz; NOT NULL ones default to the transaction time (`now()`)."""
    if nullable:
        return Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    return Field(
        default=None,
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )


def _text(length: int | None = None) -> Any:
    type_: sa.types.TypeEngine[str] = sa.String(length) if length is not None else sa.Text()
    return Field(default=None, sa_column=sa.Column(type_))


def _int(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.Integer, nullable=nullable))


def _enum(enum_class: Any, length: int | None = None, *, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=sa.Column(EnumText(enum_class, length), nullable=nullable))


def _flag(*, nullable: bool = True, server_default: str | None = None) -> Any:
    default = sa.text(server_default) if server_default is not None else None
    return Field(
        default=None,
        sa_column=sa.Column(sa.Boolean, nullable=nullable, server_default=default),
    )


def _override_reasons() -> Any:
    return Field(
        default_factory=list,
        sa_column=sa.Column(
            pg.ARRAY(EnumText(OverrideReason)),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
    )


def _version(start: int) -> Any:
    return Field(
        default=start,
        sa_column=sa.Column(sa.Integer, nullable=False, server_default=sa.text(str(start))),
    )


def _identity() -> Any:
    return Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger, sa.Identity(always=True), primary_key=True),
    )


class Allocation(SQLModel, table=True):
    """The current allocation of one prisoner (one row per prisoner, ever).

    `version` is 0 while the row exists but no event has changed it; every
    saved change bumps it by one, and the matching history row records the
    version it produced, so `expectedVersion` checks are exact.
    """

    __tablename__ = "allocation"
    __table_args__ = (
        sa.Index("ix_allocation_prison_code", "prison_code"),
        sa.Index("ix_allocation_primary_pom_staff_id", "primary_pom_staff_id"),
        sa.Index("ix_allocation_secondary_pom_staff_id", "secondary_pom_staff_id"),
    )

    offender_no: str = _offender_no(primary_key=True)
    prison_code: str = _prison_code()
    primary_pom_staff_id: int | None = _int()
    primary_pom_name: str | None = _text()
    primary_pom_allocated_at: datetime | None = _timestamp(nullable=True)
    secondary_pom_staff_id: int | None = _int()
    secondary_pom_name: str | None = _text()
    allocated_at_tier: Tier | None = _enum(Tier, 1)
    recommended_pom_type: PomType | None = _enum(PomType)
    override_reasons: list[OverrideReason] = _override_reasons()
    override_detail: str | None = _text(175)
    suitability_detail: str | None = _text(175)
    message: str | None = _text()
    created_by_username: str | None = _text()
    created_by_name: str | None = _text()
    version: int = _version(0)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class AllocationEvent(SQLModel, table=True):
    """One immutable history row; the database refuses UPDATE, DELETE and TRUNCATE.

    POM columns hold the state after the event; `previous_*` the POMs before.
    `allocation_version` is the allocation's version after this event, unique
    per prisoner, so a lost or doubled write cannot go unnoticed.
    """

    __tablename__ = "allocation_event"
    __table_args__ = (
        sa.UniqueConstraint(
            "offender_no", "allocation_version", name="uq_allocation_event_offender_no_version"
        ),
        sa.Index("ix_allocation_event_offender_no_id", "offender_no", "id"),
    )

    id: int | None = _identity()
    offender_no: str = _offender_no()
    prison_code: str = _prison_code()
    event: AllocationEventType = _enum(AllocationEventType, nullable=False)
    trigger: AllocationTrigger = _enum(AllocationTrigger, nullable=False)
    primary_pom_staff_id: int | None = _int()
    primary_pom_name: str | None = _text()
    secondary_pom_staff_id: int | None = _int()
    secondary_pom_name: str | None = _text()
    previous_primary_pom_staff_id: int | None = _int()
    previous_secondary_pom_staff_id: int | None = _int()
    allocated_at_tier: Tier | None = _enum(Tier, 1)
    recommended_pom_type: PomType | None = _enum(PomType)
    override_reasons: list[OverrideReason] = _override_reasons()
    override_detail: str | None = _text(175)
    suitability_detail: str | None = _text(175)
    message: str | None = _text()
    created_by_username: str | None = _text()
    created_by_name: str | None = _text()
    created_at: datetime = _timestamp()
    allocation_version: int = _int(nullable=False)


class CaseInformation(SQLModel, table=True):
    """Case facts recorded for one prisoner; a NULL tier or MAPPA level means unknown.

    Probation owns most of these (DOMAIN.md): `imported_at` is when the
    probation record was last read into this row (NULL: never, the row was
    typed in). ROSH level and start date, enhanced resourcing and the active
    VLO flag come from the same record; NULL enhanced resourcing is unknown.
    """

    __tablename__ = "case_information"

    offender_no: str = _offender_no(primary_key=True)
    tier: Tier | None = _enum(Tier, 1)
    probation_service: ProbationService | None = _enum(ProbationService)
    manual_entry: bool = Field(
        default=True,
        sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.text("true")),
    )
    mappa_level: int | None = Field(default=None, sa_column=sa.Column(sa.SmallInteger))
    crn: str | None = _text(20)
    com_name: str | None = _text(200)
    com_email: str | None = _text(254)
    team_name: str | None = _text(200)
    ldu_code: str | None = _text(20)
    rosh_level: RoshLevel | None = _enum(RoshLevel)
    rosh_start_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    enhanced_resourcing: bool | None = _flag()
    active_vlo: bool = Field(
        default=False,
        sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.text("false")),
    )
    imported_at: datetime | None = _timestamp(nullable=True)
    updated_by_username: str | None = _text()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    version: int = _version(1)


class PomDetail(SQLModel, table=True):
    """What the service records about a POM at one prison.

    `working_pattern` is NUMERIC(3,2) in the database (exact, 0.10 .. 1.00)
    and a float in Python, which is what the GraphQL `Float` needs.
    """

    __tablename__ = "pom_detail"

    staff_id: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, nullable=False))
    prison_code: str = _prison_code(primary_key=True)
    working_pattern: float = Field(
        default=1.0,
        sa_column=sa.Column(
            sa.Numeric(3, 2, asdecimal=False), nullable=False, server_default=sa.text("1.0")
        ),
    )
    status: PomStatus = Field(
        default=PomStatus.ACTIVE,
        sa_column=sa.Column(
            EnumText(PomStatus), nullable=False, server_default=sa.text("'ACTIVE'")
        ),
    )
    updated_by_username: str | None = _text()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    version: int = _version(1)


class ResponsibilityOverride(SQLModel, table=True):
    """A forced responsibility for one prisoner; OTHER needs `reason_text`."""

    __tablename__ = "responsibility_override"

    offender_no: str = _offender_no(primary_key=True)
    responsibility: enums.ResponsibilityOverride = _enum(
        enums.ResponsibilityOverride, nullable=False
    )
    reason: OverrideResponsibilityReason = _enum(OverrideResponsibilityReason, nullable=False)
    reason_text: str | None = _text(500)
    created_by_username: str | None = _text()
    created_at: datetime = _timestamp()
    updated_by_username: str | None = _text()
    updated_at: datetime = _timestamp()
    version: int = _version(1)


class ParoleReview(SQLModel, table=True):
    """A parole review of one prisoner's sentence, as the Parole Board's record has it.

    Only the raw fields are stored; which review gives the THD, whether one
    is completed and whether its outcome is a release are derived by the
    rules (`rules/parole.py`). `sentence_start_date` is the start of the
    sentence the review was recorded for (from NOMIS at the time).
    """

    __tablename__ = "parole_review"
    __table_args__ = (sa.Index("ix_parole_review_offender_no", "offender_no"),)

    id: int | None = _identity()
    offender_no: str = _offender_no()
    sentence_start_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    target_hearing_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    hearing_outcome: str | None = _text()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    custody_report_due: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    outcome_received_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    created_by_username: str | None = _text()
    updated_by_username: str | None = _text()
    version: int = _version(1)


class EarlyAllocation(SQLModel, table=True):
    """One early allocation assessment; the latest one since sentence start counts."""

    __tablename__ = "early_allocation"
    __table_args__ = (
        sa.Index("ix_early_allocation_offender_no_created_at", "offender_no", "created_at"),
    )

    id: int | None = _identity()
    offender_no: str = _offender_no()
    created_at: datetime = _timestamp()
    outcome: EarlyAllocationOutcome = _enum(EarlyAllocationOutcome, nullable=False)
    # The five answers that make a case automatically eligible.
    convicted_under_terrorism_act: bool = _flag(nullable=False)
    high_profile: bool = _flag(nullable=False)
    serious_crime_prevention_order: bool = _flag(nullable=False)
    mappa_level_3: bool = _flag(nullable=False)
    cppc_case: bool = _flag(nullable=False)
    # Discretionary answers: only asked when no automatic answer is yes.
    extremism_separation: bool | None = _flag()
    due_for_release_in_less_than_24months: bool | None = _flag()
    high_risk_of_serious_harm: bool | None = _flag()
    mappa_level_2: bool | None = _flag()
    pathfinder_process: bool | None = _flag()
    other_reason: bool | None = _flag()
    community_decision: bool | None = _flag()
    created_by_username: str | None = _text()


class IdempotencyKey(SQLModel, table=True):
    """The stored response of a mutation, replayed when the same key is retried."""

    __tablename__ = "idempotency_key"
    __table_args__ = (sa.Index("ix_idempotency_key_created_at", "created_at"),)

    key: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True, nullable=False))
    operation: str = Field(sa_column=sa.Column(sa.Text, primary_key=True, nullable=False))
    request_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # none_as_null: a missing response must fail NOT NULL, not be stored as JSON null.
    response: dict[str, Any] = Field(
        sa_column=sa.Column(pg.JSONB(none_as_null=True), nullable=False)
    )
    created_by_username: str | None = _text()
    created_at: datetime = _timestamp()


class EventOutbox(SQLModel, table=True):
    """One outgoing domain event, written in the transaction of the change it reports.

    `seq` orders a prisoner's events as their changes committed (writers to one
    prisoner serialise on the allocation row's lock, so a later change always
    draws a larger `seq`). `payload` is the HMPPS envelope with `detailUrl` as a
    path; the publisher prefixes the configured base URL. The delivery columns
    are the SNS topic's: `state` pending -> published, or parked after
    `attempts` failed tries (`last_error` says why); a pending row is not tried
    again before `next_attempt_at`.
    """

    __tablename__ = "event_outbox"
    __table_args__ = (
        sa.UniqueConstraint("event_id", name="uq_event_outbox_event_id"),
        sa.Index(
            "ix_event_outbox_pending",
            "offender_no",
            "seq",
            postgresql_where=sa.text("state = 'pending'"),
        ),
        sa.Index("ix_event_outbox_parked", "seq", postgresql_where=sa.text("state = 'parked'")),
        sa.Index(
            "ix_event_outbox_published_at",
            "published_at",
            postgresql_where=sa.text("state = 'published'"),
        ),
    )

    seq: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(always=True), primary_key=True)
    )
    event_id: Any = Field(sa_column=sa.Column(pg.UUID(as_uuid=True), nullable=False))
    event_type: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    offender_no: str = _offender_no()
    payload: dict[str, Any] = Field(
        sa_column=sa.Column(pg.JSONB(none_as_null=True), nullable=False)
    )
    occurred_at: datetime = _timestamp()
    state: str = Field(
        default="pending",
        sa_column=sa.Column(sa.Text, nullable=False, server_default=sa.text("'pending'")),
    )
    attempts: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default=sa.text("0"))
    )
    next_attempt_at: datetime = _timestamp()
    last_error: str | None = _text()
    published_at: datetime | None = _timestamp(nullable=True)


class CalculatedHandover(SQLModel, table=True):
    """The handover last calculated for one prisoner and stored (one row per prisoner).

    Written only when a calculation gives values different from the row's
    (`commands/handover.py`), so `updated_at` is when the stored answer last
    changed and `last_calculated_at` when the values now held were
    calculated. Other services read it (`GET /api/handovers/{nomsNumber}`);
    the graph keeps computing live and reports when the two differ.
    `reason` is the rules' `HandoverReason` name (CHECK in the migration).
    """

    __tablename__ = "calculated_handover"

    offender_no: str = _offender_no(primary_key=True)
    start_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    handover_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    responsibility: enums.Responsibility = _enum(enums.Responsibility, nullable=False)
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    last_calculated_at: datetime = _timestamp()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class CaseEvent(SQLModel, table=True):
    """One change to a prisoner's case other than the allocation: an append-only log.

    Every command that changes an owned case fact (case information, an
    override, a parole review, an early allocation assessment, a VLO contact,
    a checklist task, the release clean-up) appends one row in its own
    transaction (`store/writes.append_case_event`). `detail` holds what the
    change set, as the command's JSON (field names in camelCase, dates as
    ISO strings); `source` says whose fact it is (a person, probation's
    record, or this service). Read newest first beside `allocation_event`
    for the merged case history.
    """

    __tablename__ = "case_event"
    __table_args__ = (sa.Index("ix_case_event_offender_no_id", "offender_no", "id"),)

    id: int | None = _identity()
    offender_no: str = _offender_no()
    kind: CaseEventKind = _enum(CaseEventKind, nullable=False)
    source: FactSource = _enum(FactSource, nullable=False)
    prison_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(3)))
    detail: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(
            pg.JSONB(none_as_null=True), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
    )
    created_by_username: str | None = _text()
    created_by_name: str | None = _text()
    created_at: datetime = _timestamp()
