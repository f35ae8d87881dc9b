"""`facts_from`: the shortcut for prisoners with no parole review and no early
allocation assessment answers exactly what the general path answers."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from allocation_api.resolvers.owned_facts import facts_from, facts_key
from allocation_api.rules.handover import OwnedFacts
from allocation_api.rules.responsibility import ResponsibilityOverride
from allocation_api.store.enums import (
    OverrideResponsibilityReason,
    ProbationService,
    Tier,
)
from allocation_api.store.owned_records import OwnedRecord
from allocation_api.store.views import (
    CaseInformationView,
    ParoleReviewView,
    ResponsibilityOverrideView,
)
from allocation_api.upstream.models import Prisoner

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
START = dt.date(2024, 1, 10)
TODAY = dt.date(2026, 11, 30)
PRISONER = Prisoner(prisonerNumber="A1234BC", sentenceStartDate=START)


def case_information(mappa: int | None, service: ProbationService) -> CaseInformationView:
    return CaseInformationView(
        "A1234BC",
        Tier.B,
        service,
        False,
        mappa,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        False,
        None,
        None,
        NOW,
        NOW,
        1,
    )


OVERRIDE = ResponsibilityOverrideView(
    "A1234BC",
    ResponsibilityOverride.PROBATION,
    OverrideResponsibilityReason.OTHER,
    "reason",
    "SPO",
    NOW,
    "SPO",
    NOW,
    1,
)

# A review of another sentence: the general path ignores it, so it must conclude
# exactly what the shortcut does for a record without reviews.
OTHER_SENTENCE_REVIEW = ParoleReviewView(
    1,
    "A1234BC",
    dt.date(2019, 1, 1),
    dt.date(2020, 1, 1),
    "Release",
    NOW,
    NOW,
    None,
    dt.date(2020, 2, 1),
    "SPO",
    "SPO",
    1,
)


@pytest.mark.parametrize(
    "record",
    [
        OwnedRecord("A1234BC"),
        OwnedRecord("A1234BC", case_information=case_information(2, ProbationService.WALES)),
        OwnedRecord(
            "A1234BC",
            case_information=case_information(None, ProbationService.ENGLAND),
            responsibility_override=OVERRIDE,
        ),
    ],
)
def test_the_shortcut_agrees_with_the_general_path(record: OwnedRecord) -> None:
    shortcut = facts_from(record, PRISONER, TODAY)
    general = facts_from(
        dataclasses.replace(record, parole_reviews=[OTHER_SENTENCE_REVIEW]), PRISONER, TODAY
    )
    assert shortcut == general


def test_the_shortcut_carries_the_case_information_and_override() -> None:
    record = OwnedRecord(
        "A1234BC",
        case_information=case_information(3, ProbationService.WALES),
        responsibility_override=OVERRIDE,
    )
    assert facts_from(record, PRISONER, TODAY) == OwnedFacts(
        mappa_level=3,
        override=ResponsibilityOverride.PROBATION,
        welsh_offender=True,
    )


def _records() -> list[OwnedRecord]:
    """Plain records (every combination the key distinguishes) and records with a review."""
    plain = [
        OwnedRecord("A1234BC"),
        *(
            OwnedRecord(
                "A1234BC",
                case_information=case_information(mappa, service),
                responsibility_override=override,
            )
            for mappa in (None, 0, 2, 3)
            for service in (ProbationService.ENGLAND, ProbationService.WALES)
            for override in (None, OVERRIDE)
        ),
    ]
    return plain + [dataclasses.replace(r, parole_reviews=[OTHER_SENTENCE_REVIEW]) for r in plain]


def test_the_memo_key_is_equal_exactly_when_the_facts_are() -> None:
    """`facts_key` stands in for the facts in the handover memo: equal keys must mean
    equal facts (else a prisoner gets another's answer), and the plain records must
    not collide with one another."""
    records = _records()
    for a in records:
        for b in records:
            same_facts = facts_from(a, PRISONER, TODAY) == facts_from(b, PRISONER, TODAY)
            same_key = facts_key(a, PRISONER, TODAY) == facts_key(b, PRISONER, TODAY)
            if same_key:
                assert same_facts, (a, b)
            if not (a.parole_reviews or b.parole_reviews):
                assert same_key == same_facts, (a, b)
