"""The database itself refuses bad data, and says which rule was broken.

Rows are inserted with SQLAlchemy Core (so no Python-side validation gets in
the way) inside a transaction that is always rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from allocation_api.store import enums
from allocation_api.store.failures import StoreConstraintViolation, translate_store_errors

OFFENDER = "A1234BC"


def valid_row(table: str) -> dict[str, Any]:
    """The smallest row each table accepts."""
    return {
        "allocation": {"offender_no": OFFENDER, "prison_code": "LEI"},
        "allocation_event": {
            "offender_no": OFFENDER,
            "prison_code": "LEI",
            "event": "ALLOCATE_PRIMARY_POM",
            "trigger": "USER",
            "allocation_version": 1,
        },
        "case_information": {"offender_no": OFFENDER},
        "pom_detail": {"staff_id": 485_926, "prison_code": "LEI"},
        "responsibility_override": {
            "offender_no": OFFENDER,
            "responsibility": "PROBATION",
            "reason": "PRISONER_RECALLED",
        },
        "parole_review": {"offender_no": OFFENDER},
        "early_allocation": {
            "offender_no": OFFENDER,
            "outcome": "INELIGIBLE",
            "convicted_under_terrorism_act": False,
            "high_profile": False,
            "serious_crime_prevention_order": False,
            "mappa_level_3": False,
            "cppc_case": False,
        },
        "case_event": {"offender_no": OFFENDER, "kind": "OVERRIDE_SET", "source": "USER"},
        "idempotency_key": {
            "key": "retry-1",
            "operation": "allocatePrimaryPom",
            "request_hash": "abc",
            "response": {},
        },
    }[table]


async def insert_rolled_back(engine: AsyncEngine, table: str, *changes: dict[str, Any]) -> None:
    """Insert one row per `changes` (each applied to the valid row), then roll back."""
    target = SQLModel.metadata.tables[table]
    async with engine.connect() as connection:
        try:
            async with translate_store_errors():
                for change in changes:
                    await connection.execute(sa.insert(target).values(valid_row(table) | change))
        finally:
            await connection.rollback()


REJECTED: list[tuple[str, dict[str, Any], str]] = [
    ("allocation", {"offender_no": "a1234bc"}, "ck_allocation_offender_no"),
    ("allocation", {"offender_no": "A12345B"}, "ck_allocation_offender_no"),
    ("allocation", {"offender_no": "1234ABC"}, "ck_allocation_offender_no"),
    ("allocation", {"prison_code": "Le1"}, "ck_allocation_prison_code"),
    ("allocation", {"prison_code": "LE"}, "ck_allocation_prison_code"),
    (
        "allocation",
        {"primary_pom_staff_id": 7, "secondary_pom_staff_id": 7},
        "ck_allocation_primary_differs_from_secondary",
    ),
    ("allocation", {"allocated_at_tier": "E"}, "ck_allocation_allocated_at_tier"),
    ("allocation", {"allocated_at_tier": "a"}, "ck_allocation_allocated_at_tier"),
    ("allocation", {"recommended_pom_type": "COMMUNITY"}, "ck_allocation_recommended_pom_type"),
    (
        "allocation",
        {"override_reasons": ["SUITABILITY", "HUNCH"]},
        "ck_allocation_override_reasons",
    ),
    ("allocation", {"override_reasons": [None]}, "ck_allocation_override_reasons"),
    ("allocation", {"message": "x" * 2001}, "ck_allocation_message_length"),
    ("allocation", {"version": -1}, "ck_allocation_version"),
    ("allocation_event", {"offender_no": "A1234B1"}, "ck_allocation_event_offender_no"),
    ("allocation_event", {"event": "ALLOCATE"}, "ck_allocation_event_event"),
    ("allocation_event", {"trigger": "SYSTEM"}, "ck_allocation_event_trigger"),
    ("allocation_event", {"allocation_version": 0}, "ck_allocation_event_allocation_version"),
    ("allocation_event", {"allocated_at_tier": "N"}, "ck_allocation_event_allocated_at_tier"),
    (
        "allocation_event",
        {"override_reasons": ["OTHER", "because"]},
        "ck_allocation_event_override_reasons",
    ),
    (
        "allocation_event",
        {"primary_pom_staff_id": 9, "secondary_pom_staff_id": 9},
        "ck_allocation_event_primary_differs_from_secondary",
    ),
    ("allocation_event", {"message": "x" * 2001}, "ck_allocation_event_message_length"),
    ("case_information", {"tier": "E"}, "ck_case_information_tier"),
    ("case_information", {"tier": ""}, "ck_case_information_tier"),
    (
        "case_information",
        {"probation_service": "SCOTLAND"},
        "ck_case_information_probation_service",
    ),
    ("case_information", {"mappa_level": 4}, "ck_case_information_mappa_level"),
    ("case_information", {"mappa_level": -1}, "ck_case_information_mappa_level"),
    ("case_information", {"version": 0}, "ck_case_information_version"),
    ("case_information", {"offender_no": "A1234bc"}, "ck_case_information_offender_no"),
    ("pom_detail", {"working_pattern": 0.05}, "ck_pom_detail_working_pattern"),
    ("pom_detail", {"working_pattern": 1.1}, "ck_pom_detail_working_pattern"),
    ("pom_detail", {"working_pattern": 0}, "ck_pom_detail_working_pattern"),
    ("pom_detail", {"status": "ON_LEAVE"}, "ck_pom_detail_status"),
    ("pom_detail", {"prison_code": "lei"}, "ck_pom_detail_prison_code"),
    (
        "responsibility_override",
        {"responsibility": "COMMUNITY"},
        "ck_responsibility_override_responsibility",
    ),
    ("responsibility_override", {"reason": "BECAUSE"}, "ck_responsibility_override_reason"),
    (
        "responsibility_override",
        {"reason": "OTHER"},
        "ck_responsibility_override_reason_text_required_for_other",
    ),
    (
        "responsibility_override",
        {"reason": "OTHER", "reason_text": "   "},
        "ck_responsibility_override_reason_text_required_for_other",
    ),
    ("parole_review", {"offender_no": "X"}, "ck_parole_review_offender_no"),
    ("early_allocation", {"outcome": "MAYBE"}, "ck_early_allocation_outcome"),
    ("early_allocation", {"offender_no": "AA234BC"}, "ck_early_allocation_offender_no"),
    ("idempotency_key", {"key": ""}, "ck_idempotency_key_key"),
    ("case_information", {"rosh_level": "SEVERE"}, "ck_case_information_rosh_level"),
    ("case_event", {"kind": "OVERRIDE_CHANGED"}, "ck_case_event_kind"),
    ("case_event", {"source": "NDELIUS"}, "ck_case_event_source"),
    ("case_event", {"offender_no": "A1234B"}, "ck_case_event_offender_no"),
    ("case_event", {"detail": ["not", "an", "object"]}, "ck_case_event_detail_is_object"),
]


@pytest.mark.parametrize(
    ("table", "change", "constraint"),
    REJECTED,
    ids=[f"{constraint}:{change}"[:80] for _, change, constraint in REJECTED],
)
async def test_check_constraint_rejects_bad_value(
    engine: AsyncEngine, table: str, change: dict[str, Any], constraint: str
) -> None:
    with pytest.raises(StoreConstraintViolation) as raised:
        await insert_rolled_back(engine, table, change)
    assert raised.value.constraint == constraint
    assert raised.value.table == table
    assert raised.value.sqlstate == "23514"  # check_violation


TOO_LONG: list[tuple[str, str, int]] = [
    ("allocation", "override_detail", 175),
    ("allocation", "suitability_detail", 175),
    ("allocation_event", "override_detail", 175),
    ("allocation_event", "suitability_detail", 175),
    ("case_information", "crn", 20),
    ("case_information", "com_email", 254),
    ("responsibility_override", "reason_text", 500),
    ("idempotency_key", "key", 200),
]


@pytest.mark.parametrize(("table", "column", "limit"), TOO_LONG)
async def test_text_longer_than_its_column_is_rejected_and_the_limit_itself_accepted(
    engine: AsyncEngine, table: str, column: str, limit: int
) -> None:
    await insert_rolled_back(engine, table, {column: "x" * limit})
    with pytest.raises(StoreConstraintViolation) as raised:
        await insert_rolled_back(engine, table, {column: "x" * (limit + 1)})
    assert raised.value.sqlstate == "22001"  # string_data_right_truncation
    assert raised.value.constraint is None


ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("pom_detail", {"working_pattern": 0.1}),
    ("pom_detail", {"working_pattern": 1.0}),
    ("pom_detail", {"working_pattern": 0.55}),
    ("allocation", {"message": "x" * 2000}),
    ("allocation", {"primary_pom_staff_id": 1, "secondary_pom_staff_id": 2}),
    ("allocation", {"primary_pom_staff_id": None, "secondary_pom_staff_id": 2}),
    ("allocation", {"override_reasons": ["SUITABILITY", "NO_STAFF", "CONTINUITY", "OTHER"]}),
    ("case_information", {"tier": None, "mappa_level": None}),
    ("case_information", {"mappa_level": 0}),
    ("case_information", {"mappa_level": 3}),
    ("responsibility_override", {"reason": "OTHER", "reason_text": "Agreed with the COM"}),
]


@pytest.mark.parametrize(("table", "change"), ACCEPTED, ids=lambda value: str(value)[:60])
async def test_boundary_values_are_accepted(
    engine: AsyncEngine, table: str, change: dict[str, Any]
) -> None:
    await insert_rolled_back(engine, table, change)


NOT_NULL: list[tuple[str, str]] = [
    ("allocation", "prison_code"),
    ("allocation_event", "event"),
    ("allocation_event", "trigger"),
    ("allocation_event", "allocation_version"),
    ("responsibility_override", "responsibility"),
    ("early_allocation", "high_profile"),
    ("idempotency_key", "response"),
]


@pytest.mark.parametrize(("table", "column"), NOT_NULL)
async def test_required_column_rejects_null(engine: AsyncEngine, table: str, column: str) -> None:
    with pytest.raises(StoreConstraintViolation) as raised:
        await insert_rolled_back(engine, table, {column: None})
    assert raised.value.sqlstate == "23502"  # not_null_violation


UNIQUE: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("allocation", {}, {"prison_code": "MDI"}, "allocation_pkey"),
    (
        "allocation_event",
        {"allocation_version": 3},
        {"allocation_version": 3, "event": "DEALLOCATE_PRIMARY_POM"},
        "uq_allocation_event_offender_no_version",
    ),
    ("pom_detail", {}, {"working_pattern": 0.5}, "pom_detail_pkey"),
    ("idempotency_key", {}, {"request_hash": "other"}, "idempotency_key_pkey"),
]


@pytest.mark.parametrize(("table", "first", "second", "constraint"), UNIQUE)
async def test_second_row_with_the_same_key_is_rejected(
    engine: AsyncEngine,
    table: str,
    first: dict[str, Any],
    second: dict[str, Any],
    constraint: str,
) -> None:
    with pytest.raises(StoreConstraintViolation) as raised:
        await insert_rolled_back(engine, table, first, second)
    assert raised.value.constraint == constraint
    assert raised.value.sqlstate == "23505"  # unique_violation


ENUM_COLUMNS: list[tuple[str, str, type[StrEnum], Callable[[str], Any]]] = [
    ("allocation_event", "event", enums.AllocationEventType, str),
    ("allocation_event", "trigger", enums.AllocationTrigger, str),
    ("allocation", "allocated_at_tier", enums.Tier, str),
    ("allocation_event", "allocated_at_tier", enums.Tier, str),
    ("allocation", "recommended_pom_type", enums.PomType, str),
    ("allocation", "override_reasons", enums.OverrideReason, lambda value: [value]),
    ("allocation_event", "override_reasons", enums.OverrideReason, lambda value: [value]),
    ("case_information", "tier", enums.Tier, str),
    ("case_information", "probation_service", enums.ProbationService, str),
    ("pom_detail", "status", enums.PomStatus, str),
    ("responsibility_override", "responsibility", enums.ResponsibilityOverride, str),
    ("responsibility_override", "reason", enums.OverrideResponsibilityReason, str),
    ("early_allocation", "outcome", enums.EarlyAllocationOutcome, str),
    ("case_event", "kind", enums.CaseEventKind, str),
    ("case_information", "rosh_level", enums.RoshLevel, str),
    ("case_event", "source", enums.FactSource, str),
]


@pytest.mark.parametrize(
    ("table", "column", "enum", "as_value"), ENUM_COLUMNS, ids=lambda value: str(value)[:40]
)
async def test_every_python_enum_member_is_allowed_by_the_database(
    engine: AsyncEngine,
    table: str,
    column: str,
    enum: type[StrEnum],
    as_value: Callable[[str], Any],
) -> None:
    """Keeps `store/enums.py` and the migration's CHECK lists in step."""
    for member in enum:
        assert member.value == member.name
        change = {column: as_value(member.value), "reason_text": "why"}
        if table != "responsibility_override":
            change.pop("reason_text")
        await insert_rolled_back(engine, table, change)
