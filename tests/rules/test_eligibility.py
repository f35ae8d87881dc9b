from __future__ import annotations

import dataclasses

import pytest

from allocation_api.rules.eligibility import (
    CIVIL_IMPRISONMENT_STATUSES,
    IN_SCOPE_LEGAL_STATUSES,
    in_prison_list,
    is_civil,
    is_immigration_case,
    is_omic_eligible,
    is_sentenced,
)
from tests.rules.builders import TODAY, Facts, d

SENTENCED = Facts(sentenceStartDate=d("2024-01-01"), releaseDate=d("2027-01-01"))
CIVIL_STATUSES = [
    "A/FINE",
    "A_FINE",
    "A_CFINE",
    "CIVIL",
    "CIVIL_CON",
    "CIVIL_DT",
    "CIV_RMD",
    "YOC_CONT",
    "YO_CFINE",
]


@pytest.mark.parametrize(
    ("facts", "sentenced"),
    [
        (Facts(sentenceStartDate=d("2024-01-01"), releaseDate=d("2027-01-01")), True),
        (Facts(sentenceStartDate=d("2024-01-01"), paroleEligibilityDate=d("2027-01-01")), True),
        (
            Facts(
                sentenceStartDate=d("2024-01-01"),
                homeDetentionCurfewEligibilityDate=d("2026-01-01"),
            ),
            True,
        ),
        (Facts(sentenceStartDate=d("2024-01-01"), tariffDate=d("2035-01-01")), True),
        (Facts(sentenceStartDate=d("2024-01-01"), indeterminateSentence=True), True),
        # a sentence start alone is not enough
        (Facts(sentenceStartDate=d("2024-01-01")), False),
        (Facts(sentenceStartDate=d("2024-01-01"), indeterminateSentence=False), False),
        # ARD / CRD are not in the list of dates that show a sentence
        (
            Facts(
                sentenceStartDate=d("2024-01-01"),
                automaticReleaseDate=d("2026-01-01"),
                conditionalReleaseDate=d("2026-01-01"),
            ),
            False,
        ),
        # no sentence start: never sentenced
        (Facts(releaseDate=d("2027-01-01"), indeterminateSentence=True), False),
    ],
)
def test_is_sentenced(facts: Facts, sentenced: bool) -> None:
    assert is_sentenced(facts) is sentenced


def test_legal_status_plays_no_part_in_sentenced() -> None:
    for status in (None, "REMAND", "SENTENCED", "UNKNOWN"):
        assert is_sentenced(dataclasses.replace(SENTENCED, legalStatus=status))


@pytest.mark.parametrize(
    ("status", "immigration"),
    [("DET", True), ("det", False), ("SENT03", False), ("LIFE", False), (None, False)],
)
def test_is_immigration_case(status: str | None, immigration: bool) -> None:
    assert is_immigration_case(Facts(imprisonmentStatus=status)) is immigration


@pytest.mark.parametrize("status", CIVIL_STATUSES)
def test_each_civil_status_is_civil(status: str) -> None:
    assert is_civil(Facts(imprisonmentStatus=status))


def test_civil_status_list_is_exactly_the_domain_list() -> None:
    assert set(CIVIL_STATUSES) == CIVIL_IMPRISONMENT_STATUSES


@pytest.mark.parametrize("status", [None, "DET", "SENT03", "LIFE", "CIVIL_X", "A FINE"])
def test_missing_or_other_status_is_criminal(status: str | None) -> None:
    assert not is_civil(Facts(imprisonmentStatus=status))


@pytest.mark.parametrize(
    ("facts", "eligible"),
    [
        (SENTENCED, True),
        (dataclasses.replace(SENTENCED, dateOfBirth=d("2007-06-15")), True),  # 18 today
        (dataclasses.replace(SENTENCED, dateOfBirth=d("2007-06-16")), False),  # 18 tomorrow
        (dataclasses.replace(SENTENCED, dateOfBirth=None), False),
        (Facts(imprisonmentStatus="DET"), True),  # unsentenced immigration detainee
        (Facts(imprisonmentStatus="DET", dateOfBirth=d("2010-01-01")), False),
        (Facts(), False),  # neither sentenced nor immigration
        (Facts(sentenceStartDate=d("2024-01-01")), False),
        (dataclasses.replace(SENTENCED, imprisonmentStatus="SENT03"), True),
    ],
)
def test_is_omic_eligible(facts: Facts, eligible: bool) -> None:
    assert is_omic_eligible(facts, TODAY) is eligible


@pytest.mark.parametrize("status", CIVIL_STATUSES)
def test_civil_sentences_are_never_eligible(status: str) -> None:
    assert not is_omic_eligible(dataclasses.replace(SENTENCED, imprisonmentStatus=status), TODAY)


@pytest.mark.parametrize(
    "status", ["SENTENCED", "INDETERMINATE_SENTENCE", "RECALL", "IMMIGRATION_DETAINEE"]
)
def test_in_scope_legal_statuses_are_listed(status: str) -> None:
    assert status in IN_SCOPE_LEGAL_STATUSES
    assert in_prison_list(Facts(legalStatus=status))


@pytest.mark.parametrize(
    "status",
    [
        "DEAD",
        "CONVICTED_UNSENTENCED",
        "CIVIL_PRISONER",
        "REMAND",
        "UNKNOWN",
        "OTHER",
        None,
        "sentenced",
    ],
)
def test_other_legal_statuses_are_not_listed(status: str | None) -> None:
    assert not in_prison_list(Facts(legalStatus=status))


def test_in_scope_legal_statuses_has_exactly_four() -> None:
    assert len(IN_SCOPE_LEGAL_STATUSES) == 4
