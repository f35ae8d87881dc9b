from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocation_api.errors import ValidationFailed
from allocation_api.rules.override import (
    MAX_DETAIL_LENGTH,
    OverrideReason,
    is_override,
    normalise_reasons,
    validate_override,
)
from allocation_api.rules.pom_type import PomType

PRISON = PomType.PRISON
PROBATION = PomType.PROBATION
SUITABILITY = OverrideReason.SUITABILITY
NO_STAFF = OverrideReason.NO_STAFF
CONTINUITY = OverrideReason.CONTINUITY
OTHER = OverrideReason.OTHER


@pytest.mark.parametrize(
    ("chosen", "recommended", "override"),
    [
        (PRISON, PROBATION, True),
        (PROBATION, PRISON, True),
        (PRISON, PRISON, False),
        (PROBATION, PROBATION, False),
        (PRISON, None, False),
        (None, PRISON, False),
        (None, None, False),
    ],
)
def test_is_override(chosen: PomType | None, recommended: PomType | None, override: bool) -> None:
    assert is_override(chosen, recommended) is override


@pytest.mark.parametrize(
    ("chosen", "recommended"),
    [(PRISON, PRISON), (PROBATION, PROBATION), (PRISON, None), (None, PROBATION), (None, None)],
)
def test_following_the_recommendation_needs_nothing(
    chosen: PomType | None, recommended: PomType | None
) -> None:
    assert validate_override(chosen, recommended, None, None, None) == ()
    assert validate_override(chosen, recommended, [], "", "") == ()


@pytest.mark.parametrize(
    ("reasons", "suitability", "other", "field"),
    [
        ([NO_STAFF], None, None, "overrideReasons"),
        ([SUITABILITY], "needs a probation officer", None, "overrideReasons"),
        ([], "unexpected detail", None, "suitabilityDetail"),
        ([], None, "unexpected detail", "overrideDetail"),
        (None, None, "   ", "overrideDetail"),
    ],
)
def test_reasons_or_details_without_an_override_are_rejected(
    reasons: list[OverrideReason] | None, suitability: str | None, other: str | None, field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_override(PRISON, PRISON, reasons, suitability, other)
    assert caught.value.code == "OVERRIDE_NOT_NEEDED"
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("reasons", "suitability", "other", "code", "field"),
    [
        (None, None, None, "OVERRIDE_REASON_REQUIRED", "overrideReasons"),
        ([], None, None, "OVERRIDE_REASON_REQUIRED", "overrideReasons"),
        ([SUITABILITY], None, None, "OVERRIDE_DETAIL_REQUIRED", "suitabilityDetail"),
        ([SUITABILITY], "", None, "OVERRIDE_DETAIL_REQUIRED", "suitabilityDetail"),
        ([SUITABILITY], "  \t ", None, "OVERRIDE_DETAIL_REQUIRED", "suitabilityDetail"),
        ([OTHER], None, None, "OVERRIDE_DETAIL_REQUIRED", "overrideDetail"),
        ([OTHER], None, " ", "OVERRIDE_DETAIL_REQUIRED", "overrideDetail"),
        ([SUITABILITY, OTHER], "why", None, "OVERRIDE_DETAIL_REQUIRED", "overrideDetail"),
        ([NO_STAFF], "why", None, "OVERRIDE_DETAIL_NOT_NEEDED", "suitabilityDetail"),
        ([CONTINUITY], None, "why", "OVERRIDE_DETAIL_NOT_NEEDED", "overrideDetail"),
        ([SUITABILITY], "x" * 176, None, "OVERRIDE_DETAIL_TOO_LONG", "suitabilityDetail"),
        ([OTHER], None, "x" * 176, "OVERRIDE_DETAIL_TOO_LONG", "overrideDetail"),
        ([SUITABILITY, OTHER], "ok", "x" * 500, "OVERRIDE_DETAIL_TOO_LONG", "overrideDetail"),
    ],
)
def test_override_validation_codes(
    reasons: list[OverrideReason] | None,
    suitability: str | None,
    other: str | None,
    code: str,
    field: str,
) -> None:
    for chosen, recommended in ((PROBATION, PRISON), (PRISON, PROBATION)):
        with pytest.raises(ValidationFailed) as caught:
            validate_override(chosen, recommended, reasons, suitability, other)
        assert caught.value.code == code
        assert caught.value.field == field
        assert caught.value.message


def test_detail_of_exactly_175_characters_is_accepted() -> None:
    assert MAX_DETAIL_LENGTH == 175
    detail = "é" * 175  # characters, not bytes
    result = validate_override(PROBATION, PRISON, [SUITABILITY, OTHER], detail, detail)
    assert result == (SUITABILITY, OTHER)


@pytest.mark.parametrize(
    ("reasons", "suitability", "other", "expected"),
    [
        ([NO_STAFF], None, None, (NO_STAFF,)),
        ([CONTINUITY, NO_STAFF, CONTINUITY], None, None, (NO_STAFF, CONTINUITY)),
        ([OTHER, SUITABILITY], "a", "b", (SUITABILITY, OTHER)),
        ((r for r in [OTHER, OTHER]), None, "b", (OTHER,)),
        ([NO_STAFF], "", "", (NO_STAFF,)),  # empty strings count as not sent
    ],
)
def test_valid_override_returns_normalised_reasons(
    reasons: list[OverrideReason],
    suitability: str | None,
    other: str | None,
    expected: tuple[OverrideReason, ...],
) -> None:
    assert validate_override(PRISON, PROBATION, reasons, suitability, other) == expected


@given(st.lists(st.sampled_from(OverrideReason)))
def test_normalise_reasons_dedupes_and_orders(reasons: list[OverrideReason]) -> None:
    result = normalise_reasons(reasons)
    assert set(result) == set(reasons)
    assert len(result) == len(set(result))
    assert list(result) == [r for r in OverrideReason if r in result]
