from __future__ import annotations

import enum

import pytest

from allocation_api.rules.caseload import CaseRole
from allocation_api.rules.early_allocation import EarlyAllocationOutcome
from allocation_api.rules.handover import HandoverReason
from allocation_api.rules.override import OverrideReason
from allocation_api.rules.pom_type import (
    PomType,
    Responsibility,
    ResponsibilityOverride,
    pom_type_for_position,
    recommended_pom_type,
)
from allocation_api.rules.release_date import ReleaseDateKind
from tests.rules.builders import Facts

PRISON = PomType.PRISON
PROBATION = PomType.PROBATION
ONLY = Responsibility.CUSTODY_ONLY
WITH_COM = Responsibility.CUSTODY_WITH_COM
COMMUNITY = Responsibility.COMMUNITY
TO_PRISON = ResponsibilityOverride.PRISON
TO_PROBATION = ResponsibilityOverride.PROBATION
IMMIGRATION = Facts(imprisonmentStatus="DET")
CRIMINAL = Facts(imprisonmentStatus="SENT03")


@pytest.mark.parametrize(
    ("position", "pom_type"),
    [("PRO", PRISON), ("PO", PROBATION), ("pro", None), ("PPO", None), ("", None), (None, None)],
)
def test_pom_type_for_position(position: str | None, pom_type: PomType | None) -> None:
    assert pom_type_for_position(position) is pom_type


@pytest.mark.parametrize(
    ("facts", "tier", "responsibility", "override", "expected"),
    [
        # 1. immigration case -> prison POM, even at tier A with the POM responsible
        (IMMIGRATION, "A", ONLY, None, PRISON),
        (IMMIGRATION, "B", ONLY, TO_PRISON, PRISON),
        # 1. POM not responsible -> prison POM, beats tier A/B
        (CRIMINAL, "A", COMMUNITY, None, PRISON),
        (CRIMINAL, "B", COMMUNITY, None, PRISON),
        (CRIMINAL, "A", ONLY, TO_PROBATION, PRISON),
        (CRIMINAL, "A", None, TO_PROBATION, PRISON),
        # the override wins over the calculated responsibility both ways
        (CRIMINAL, "A", COMMUNITY, TO_PRISON, PROBATION),
        # 2. tier A or B with the POM responsible -> probation POM
        (CRIMINAL, "A", ONLY, None, PROBATION),
        (CRIMINAL, "B", WITH_COM, None, PROBATION),
        (CRIMINAL, "A", None, None, PROBATION),  # unknown responsibility is not Community
        # 3. otherwise -> prison POM
        (CRIMINAL, "C", ONLY, None, PRISON),
        (CRIMINAL, "D", WITH_COM, None, PRISON),
        (CRIMINAL, None, ONLY, None, PRISON),
        (CRIMINAL, "a", ONLY, None, PRISON),
        (CRIMINAL, "C", ONLY, TO_PRISON, PRISON),
    ],
)
def test_recommended_pom_type(
    facts: Facts,
    tier: str | None,
    responsibility: Responsibility | None,
    override: ResponsibilityOverride | None,
    expected: PomType,
) -> None:
    actual = recommended_pom_type(
        facts, tier=tier, responsibility=responsibility, override=override
    )
    assert actual is expected


@pytest.mark.parametrize(
    "enum_type",
    [
        PomType,
        Responsibility,
        ResponsibilityOverride,
        OverrideReason,
        HandoverReason,
        CaseRole,
        EarlyAllocationOutcome,
        ReleaseDateKind,
    ],
)
def test_enum_values_equal_upper_snake_names(enum_type: type[enum.Enum]) -> None:
    for member in enum_type:
        assert member.value == member.name
        assert member.name == member.name.upper()


def test_enum_members_are_as_specified() -> None:
    assert [m.name for m in PomType] == ["PRISON", "PROBATION"]
    assert [m.name for m in Responsibility] == ["CUSTODY_ONLY", "CUSTODY_WITH_COM", "COMMUNITY"]
    assert [m.name for m in OverrideReason] == ["SUITABILITY", "NO_STAFF", "CONTINUITY", "OTHER"]
