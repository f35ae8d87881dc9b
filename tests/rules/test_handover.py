from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocation_api.rules.handover import (
    Handover,
    HandoverReason,
    OwnedFacts,
    calculated_handover,
    handover,
    thd_over_12_months,
)
from allocation_api.rules.responsibility import (
    Responsibility,
    ResponsibilityOverride,
    responsibility_for_override,
    responsibility_from_dates,
)
from tests.rules.builders import TODAY, Facts, d

ONLY = Responsibility.CUSTODY_ONLY
WITH_COM = Responsibility.CUSTODY_WITH_COM
COMMUNITY = Responsibility.COMMUNITY
R = HandoverReason

# TODAY is 2025-06-15, so "12 months from now" is 2026-06-15.
THD_FAR = d("2026-06-16")  # first THD "later than 12 months from now"
THD_12_MONTHS = d("2026-06-15")  # exactly 12 months: not later

ISP = Facts(
    indeterminateSentence=True,
    sentenceStartDate=d("2015-01-01"),
    tariffDate=d("2030-01-01"),
    imprisonmentStatus="LIFE",
)
DETERMINATE = Facts(
    sentenceStartDate=d("2020-01-01"),
    automaticReleaseDate=d("2028-10-31"),
    imprisonmentStatus="SENT03",
)
SPECIAL_REASONS = {
    R.ADDITIONAL_ISP,
    R.ISP_RECALL_THD_OVER_12_MONTHS,
    R.ISP_THD_OVER_12_MONTHS_MAPPA_2_3,
    R.ISP_THD_OVER_12_MONTHS,
    R.RECALL,
    R.IMMIGRATION,
    R.NO_RELEASE_DATE,
}
NO_OUTCOME = None
NOT_RELEASED = False
RELEASED = True


def _special(responsibility: Responsibility, reason: HandoverReason) -> Handover:
    return Handover(responsibility, None, None, reason)


@pytest.mark.parametrize(
    ("thd", "over"),
    [
        (None, False),
        ("2026-06-15", False),
        ("2026-06-16", True),
        ("2030-01-01", True),
        ("2025-01-01", False),
    ],
)
def test_thd_over_12_months(thd: str | None, over: bool) -> None:
    assert thd_over_12_months(None if thd is None else d(thd), TODAY) is over


SPECIAL_CASES = [
    # 1. ISP with an additional, later ISP -> CustodyOnly, before everything else
    pytest.param(
        ISP, OwnedFacts(additional_later_isp=True), _special(ONLY, R.ADDITIONAL_ISP), id="1"
    ),
    pytest.param(
        dataclasses.replace(ISP, recall=True, imprisonmentStatus="DET", tariffDate=None),
        OwnedFacts(additional_later_isp=True, thd=THD_FAR, mappa_level=3),
        _special(ONLY, R.ADDITIONAL_ISP),
        id="1-beats-2-to-7",
    ),
    pytest.param(
        dataclasses.replace(DETERMINATE, recall=True),
        OwnedFacts(additional_later_isp=True),
        _special(COMMUNITY, R.RECALL),
        id="1-needs-an-isp",
    ),
    # 2. ISP, THD > 12 months, recalled, MAPPA none/0/1 -> CustodyWithCom
    *(
        pytest.param(
            dataclasses.replace(ISP, recall=True),
            OwnedFacts(thd=THD_FAR, mappa_level=level),
            _special(WITH_COM, R.ISP_RECALL_THD_OVER_12_MONTHS),
            id=f"2-mappa-{level}",
        )
        for level in (None, 0, 1)
    ),
    pytest.param(
        dataclasses.replace(ISP, recall=True),
        OwnedFacts(thd=THD_FAR, latest_completed_parole_outcome_is_release=RELEASED),
        _special(WITH_COM, R.ISP_RECALL_THD_OVER_12_MONTHS),
        id="2-ignores-parole-outcome",
    ),
    pytest.param(
        dataclasses.replace(ISP, recall=True),
        OwnedFacts(thd=THD_12_MONTHS),
        _special(COMMUNITY, R.RECALL),
        id="2-thd-exactly-12-months-is-just-a-recall",
    ),
    pytest.param(
        dataclasses.replace(ISP, recall=True),
        OwnedFacts(thd=THD_FAR, mappa_level=2),
        _special(COMMUNITY, R.RECALL),
        id="2-mappa-2-without-outcome-is-just-a-recall",
    ),
    pytest.param(
        dataclasses.replace(ISP, recall=True),
        OwnedFacts(thd=THD_FAR, mappa_level=2, latest_completed_parole_outcome_is_release=False),
        _special(COMMUNITY, R.ISP_THD_OVER_12_MONTHS_MAPPA_2_3),
        id="2-mappa-2-falls-to-3",
    ),
    # 3. ISP, THD > 12 months, latest completed outcome not release, MAPPA 2/3 -> Community
    *(
        pytest.param(
            ISP,
            OwnedFacts(
                thd=THD_FAR, mappa_level=level, latest_completed_parole_outcome_is_release=False
            ),
            _special(COMMUNITY, R.ISP_THD_OVER_12_MONTHS_MAPPA_2_3),
            id=f"3-mappa-{level}",
        )
        for level in (2, 3)
    ),
    # 4. as 3 with MAPPA none/0/1 -> CustodyWithCom
    *(
        pytest.param(
            ISP,
            OwnedFacts(
                thd=THD_FAR, mappa_level=level, latest_completed_parole_outcome_is_release=False
            ),
            _special(WITH_COM, R.ISP_THD_OVER_12_MONTHS),
            id=f"4-mappa-{level}",
        )
        for level in (None, 0, 1)
    ),
    # 3/4 need THD > 12 months and a completed review whose outcome is not release
    pytest.param(
        ISP,
        OwnedFacts(
            thd=THD_12_MONTHS, mappa_level=3, latest_completed_parole_outcome_is_release=False
        ),
        Handover(ONLY, d("2029-01-01"), d("2029-01-01"), R.INDETERMINATE),
        id="3-thd-exactly-12-months",
    ),
    pytest.param(
        ISP,
        OwnedFacts(thd=THD_FAR, mappa_level=3, latest_completed_parole_outcome_is_release=True),
        Handover(ONLY, d("2029-01-01"), d("2029-01-01"), R.INDETERMINATE),
        id="3-outcome-release",
    ),
    pytest.param(
        ISP,
        OwnedFacts(
            thd=THD_FAR, mappa_level=3, latest_completed_parole_outcome_is_release=NO_OUTCOME
        ),
        Handover(ONLY, d("2029-01-01"), d("2029-01-01"), R.INDETERMINATE),
        id="3-no-completed-review",
    ),
    pytest.param(
        dataclasses.replace(DETERMINATE),
        OwnedFacts(thd=THD_FAR, mappa_level=3, latest_completed_parole_outcome_is_release=False),
        Handover(ONLY, d("2028-02-15"), d("2028-02-15"), R.DETERMINATE),
        id="3-needs-an-isp",
    ),
    # 5. recall -> Community, even with dates that would give a handover
    pytest.param(
        dataclasses.replace(DETERMINATE, recall=True),
        OwnedFacts(),
        _special(COMMUNITY, R.RECALL),
        id="5",
    ),
    pytest.param(
        dataclasses.replace(DETERMINATE, recall=True, imprisonmentStatus="DET"),
        OwnedFacts(early_allocation=True),
        _special(COMMUNITY, R.RECALL),
        id="5-beats-6",
    ),
    pytest.param(
        dataclasses.replace(ISP, recall=True),
        OwnedFacts(),
        _special(COMMUNITY, R.RECALL),
        id="5-isp-without-thd",
    ),
    # 6. immigration case -> Community
    pytest.param(
        dataclasses.replace(DETERMINATE, imprisonmentStatus="DET"),
        OwnedFacts(),
        _special(COMMUNITY, R.IMMIGRATION),
        id="6",
    ),
    pytest.param(
        Facts(imprisonmentStatus="DET"),
        OwnedFacts(),
        _special(COMMUNITY, R.IMMIGRATION),
        id="6-beats-7",
    ),
    # 7. no release date to work from -> CustodyOnly
    pytest.param(
        Facts(sentenceStartDate=d("2024-01-01")),
        OwnedFacts(),
        _special(ONLY, R.NO_RELEASE_DATE),
        id="7",
    ),
    pytest.param(
        Facts(
            sentenceStartDate=d("2024-01-01"),
            releaseDate=d("2026-01-01"),
            homeDetentionCurfewEligibilityDate=d("2025-10-01"),
        ),
        OwnedFacts(early_allocation=True),
        _special(ONLY, R.NO_RELEASE_DATE),
        id="7-hdced-and-release-date-do-not-count",
    ),
    pytest.param(
        dataclasses.replace(ISP, tariffDate=None, paroleEligibilityDate=d("2026-01-01")),
        OwnedFacts(),
        _special(ONLY, R.NO_RELEASE_DATE),
        id="7-isp-without-ted-or-thd",
    ),
]


@pytest.mark.parametrize(("facts", "owned", "expected"), SPECIAL_CASES)
def test_special_cases_and_their_precedence(
    facts: Facts, owned: OwnedFacts, expected: Handover
) -> None:
    assert handover(facts, owned, TODAY) == expected


HANDOVER_TABLE = [
    # early allocation (any sentence): release - 15 months
    pytest.param(
        dataclasses.replace(DETERMINATE, automaticReleaseDate=d("2026-12-31")),
        OwnedFacts(early_allocation=True),
        Handover(ONLY, d("2025-09-30"), d("2025-09-30"), R.EARLY_ALLOCATION),
        id="early-determinate",
    ),
    pytest.param(
        dataclasses.replace(ISP, tariffDate=d("2026-09-15")),
        OwnedFacts(early_allocation=True),
        Handover(COMMUNITY, d("2025-06-15"), d("2025-06-15"), R.EARLY_ALLOCATION),
        id="early-isp-handover-today",
    ),
    pytest.param(
        Facts(sentenceStartDate=d("2025-05-31"), automaticReleaseDate=d("2026-03-31")),
        OwnedFacts(early_allocation=True),
        Handover(COMMUNITY, d("2024-12-31"), d("2024-12-31"), R.EARLY_ALLOCATION),
        id="early-beats-short",
    ),
    # indeterminate: release - 12 months
    pytest.param(
        dataclasses.replace(ISP, tariffDate=d("2026-09-30")),
        OwnedFacts(),
        Handover(ONLY, d("2025-09-30"), d("2025-09-30"), R.INDETERMINATE),
        id="isp-ted",
    ),
    pytest.param(
        dataclasses.replace(ISP, tariffDate=d("2026-06-16")),
        OwnedFacts(),
        Handover(ONLY, d("2025-06-16"), d("2025-06-16"), R.INDETERMINATE),
        id="isp-day-before-handover",
    ),
    pytest.param(
        dataclasses.replace(ISP, tariffDate=d("2020-01-01")),
        OwnedFacts(thd=d("2026-02-28")),
        Handover(COMMUNITY, d("2025-02-28"), d("2025-02-28"), R.INDETERMINATE),
        id="isp-thd-after-past-ted",
    ),
    pytest.param(
        dataclasses.replace(ISP, tariffDate=d("2020-01-01"), sentenceStartDate=d("2019-12-01")),
        OwnedFacts(),
        Handover(COMMUNITY, d("2019-01-01"), d("2019-01-01"), R.INDETERMINATE),
        id="isp-never-short",
    ),
    # determinate, sentence start + 10 months >= release: none, COM at once
    pytest.param(
        Facts(sentenceStartDate=d("2025-05-31"), automaticReleaseDate=d("2026-03-31")),
        OwnedFacts(),
        Handover(COMMUNITY, None, None, R.DETERMINATE_SHORT),
        id="short-boundary-equal",
    ),
    pytest.param(
        Facts(sentenceStartDate=d("2025-05-31"), automaticReleaseDate=d("2026-04-01")),
        OwnedFacts(),
        Handover(ONLY, d("2025-07-18"), d("2025-07-18"), R.DETERMINATE),
        id="short-boundary-one-day-later",
    ),
    pytest.param(
        Facts(sentenceStartDate=d("2025-04-30"), conditionalReleaseDate=d("2026-02-28")),
        OwnedFacts(),
        Handover(COMMUNITY, None, None, R.DETERMINATE_SHORT),
        id="short-boundary-clamped",
    ),
    pytest.param(
        Facts(sentenceStartDate=d("2025-01-01"), paroleEligibilityDate=d("2025-10-01")),
        OwnedFacts(),
        Handover(COMMUNITY, None, None, R.DETERMINATE_SHORT),
        id="short-with-ped",
    ),
    # determinate with PED: PED - 12 months
    pytest.param(
        Facts(
            sentenceStartDate=d("2020-01-01"),
            paroleEligibilityDate=d("2026-10-31"),
            automaticReleaseDate=d("2026-01-01"),
        ),
        OwnedFacts(),
        Handover(ONLY, d("2025-10-31"), d("2025-10-31"), R.DETERMINATE_PED),
        id="ped",
    ),
    pytest.param(
        Facts(sentenceStartDate=d("2020-01-01"), paroleEligibilityDate=d("2024-02-29")),
        OwnedFacts(),
        Handover(COMMUNITY, d("2023-02-28"), d("2023-02-28"), R.DETERMINATE_PED),
        id="ped-in-the-past",
    ),
    # other determinate: release - 8 months 14 days
    pytest.param(
        DETERMINATE,
        OwnedFacts(),
        Handover(ONLY, d("2028-02-15"), d("2028-02-15"), R.DETERMINATE),
        id="determinate-clamped-leap",
    ),
    pytest.param(
        Facts(sentenceStartDate=d("2020-01-01"), conditionalReleaseDate=d("2026-02-28")),
        OwnedFacts(),
        Handover(COMMUNITY, d("2025-06-14"), d("2025-06-14"), R.DETERMINATE),
        id="determinate-handover-yesterday",
    ),
    pytest.param(
        Facts(automaticReleaseDate=d("2026-03-01")),
        OwnedFacts(),
        Handover(ONLY, d("2025-06-17"), d("2025-06-17"), R.DETERMINATE),
        id="determinate-without-sentence-start",
    ),
]


@pytest.mark.parametrize(("facts", "owned", "expected"), HANDOVER_TABLE)
def test_handover_date_table(facts: Facts, owned: OwnedFacts, expected: Handover) -> None:
    assert handover(facts, owned, TODAY) == expected


OPEN_ISP = dataclasses.replace(ISP, tariffDate=d("2028-01-01"), prisonId="HVI")

START_DATES = [
    pytest.param(
        OPEN_ISP,
        OwnedFacts(prison_arrival_date=d("2024-01-01")),
        Handover(WITH_COM, d("2027-01-01"), d("2024-01-01"), R.INDETERMINATE),
        id="men-open-arrival-before-handover",
    ),
    pytest.param(
        dataclasses.replace(OPEN_ISP, tariffDate=d("2026-03-01")),
        OwnedFacts(prison_arrival_date=d("2025-05-01")),
        Handover(COMMUNITY, d("2025-03-01"), d("2025-03-01"), R.INDETERMINATE),
        id="men-open-arrival-after-handover",
    ),
    pytest.param(
        OPEN_ISP,
        OwnedFacts(prison_arrival_date=d("2021-03-30")),
        Handover(ONLY, d("2027-01-01"), d("2027-01-01"), R.INDETERMINATE),
        id="men-open-arrival-before-rollout",
    ),
    pytest.param(
        dataclasses.replace(OPEN_ISP, prisonId="UPI"),
        OwnedFacts(prison_arrival_date=d("2020-11-01"), welsh_offender=True),
        Handover(WITH_COM, d("2027-01-01"), d("2020-11-01"), R.INDETERMINATE),
        id="prescoed-welsh",
    ),
    pytest.param(
        dataclasses.replace(OPEN_ISP, prisonId="UPI"),
        OwnedFacts(prison_arrival_date=d("2020-11-01"), welsh_offender=False),
        Handover(ONLY, d("2027-01-01"), d("2027-01-01"), R.INDETERMINATE),
        id="prescoed-english-before-rollout",
    ),
    pytest.param(
        dataclasses.replace(OPEN_ISP, prisonId="STI", category="T"),
        OwnedFacts(category_active_since=d("2025-06-15")),
        Handover(WITH_COM, d("2027-01-01"), d("2025-06-15"), R.INDETERMINATE),
        id="women-category-t",
    ),
    pytest.param(
        dataclasses.replace(OPEN_ISP, prisonId="STI", category="T"),
        OwnedFacts(category_active_since=d("2025-06-16")),
        Handover(ONLY, d("2027-01-01"), d("2025-06-16"), R.INDETERMINATE),
        id="women-category-t-from-tomorrow",
    ),
    pytest.param(
        dataclasses.replace(OPEN_ISP, prisonId="LEI"),
        OwnedFacts(prison_arrival_date=d("2024-01-01")),
        Handover(ONLY, d("2027-01-01"), d("2027-01-01"), R.INDETERMINATE),
        id="closed-prison",
    ),
    pytest.param(
        dataclasses.replace(DETERMINATE, prisonId="HVI"),
        OwnedFacts(prison_arrival_date=d("2024-01-01")),
        Handover(ONLY, d("2028-02-15"), d("2028-02-15"), R.DETERMINATE),
        id="determinate-in-open-prison",
    ),
    pytest.param(
        OPEN_ISP,
        OwnedFacts(prison_arrival_date=d("2024-01-01"), early_allocation=True),
        Handover(WITH_COM, d("2026-10-01"), d("2024-01-01"), R.EARLY_ALLOCATION),
        id="early-allocation-isp-in-open-prison",
    ),
]


@pytest.mark.parametrize(("facts", "owned", "expected"), START_DATES)
def test_handover_start_date_open_prison_rules(
    facts: Facts, owned: OwnedFacts, expected: Handover
) -> None:
    assert handover(facts, owned, TODAY) == expected


OVERRIDES = [
    pytest.param(
        ISP,
        OwnedFacts(additional_later_isp=True, override=ResponsibilityOverride.PROBATION),
        Handover(COMMUNITY, None, None, R.OVERRIDE),
        id="probation-beats-special-case-1",
    ),
    pytest.param(
        dataclasses.replace(DETERMINATE, recall=True),
        OwnedFacts(override=ResponsibilityOverride.PRISON),
        Handover(WITH_COM, None, None, R.OVERRIDE),
        id="prison-beats-recall",
    ),
    pytest.param(
        Facts(sentenceStartDate=d("2025-05-31"), automaticReleaseDate=d("2026-03-31")),
        OwnedFacts(override=ResponsibilityOverride.PRISON),
        Handover(WITH_COM, None, None, R.OVERRIDE),
        id="prison-beats-short-sentence",
    ),
    pytest.param(
        DETERMINATE,
        OwnedFacts(override=ResponsibilityOverride.PROBATION),
        Handover(COMMUNITY, d("2028-02-15"), d("2028-02-15"), R.OVERRIDE),
        id="probation-keeps-calculated-dates",
    ),
]


@pytest.mark.parametrize(("facts", "owned", "expected"), OVERRIDES)
def test_override_wins_over_everything(facts: Facts, owned: OwnedFacts, expected: Handover) -> None:
    assert handover(facts, owned, TODAY) == expected


# ---- properties over arbitrary prisoners -------------------------------------------------

some_dates = st.none() | st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2045, 12, 31))
prisoners = st.builds(
    Facts,
    prisonId=st.sampled_from([None, "LEI", "HVI", "UPI", "STI", "AGI"]),
    imprisonmentStatus=st.sampled_from([None, "SENT03", "LIFE", "DET", "CIVIL"]),
    recall=st.sampled_from([None, False, True]),
    indeterminateSentence=st.sampled_from([None, False, True]),
    category=st.sampled_from([None, "C", "T"]),
    sentenceStartDate=some_dates,
    conditionalReleaseDate=some_dates,
    automaticReleaseDate=some_dates,
    paroleEligibilityDate=some_dates,
    tariffDate=some_dates,
)
owned_facts = st.builds(
    OwnedFacts,
    mappa_level=st.sampled_from([None, 0, 1, 2, 3]),
    thd=some_dates,
    latest_completed_parole_outcome_is_release=st.sampled_from([None, False, True]),
    early_allocation=st.booleans(),
    additional_later_isp=st.booleans(),
    override=st.sampled_from([None, *ResponsibilityOverride]),
    prison_arrival_date=some_dates,
    welsh_offender=st.booleans(),
    category_active_since=some_dates,
)
todays = st.dates(min_value=dt.date(2018, 1, 1), max_value=dt.date(2035, 12, 31))


@given(facts=prisoners, owned=owned_facts, today=todays)
def test_start_never_after_handover_and_special_cases_have_no_dates(
    facts: Facts, owned: OwnedFacts, today: dt.date
) -> None:
    result = handover(facts, owned, today)
    assert (result.start_date is None) == (result.handover_date is None)
    if result.start_date is not None and result.handover_date is not None:
        assert result.start_date <= result.handover_date


@given(facts=prisoners, owned=owned_facts, today=todays)
def test_calculated_responsibility_follows_the_dates(
    facts: Facts, owned: OwnedFacts, today: dt.date
) -> None:
    result = calculated_handover(facts, owned, today)
    assert result.reason is not R.OVERRIDE
    if result.reason in SPECIAL_REASONS:
        assert result.handover_date is None
        assert result.start_date is None
    else:
        expected = responsibility_from_dates(result.handover_date, result.start_date, today)
        assert result.responsibility is expected


@given(facts=prisoners, owned=owned_facts, today=todays)
def test_override_replaces_only_responsibility_and_reason(
    facts: Facts, owned: OwnedFacts, today: dt.date
) -> None:
    result = handover(facts, owned, today)
    calculated = calculated_handover(facts, owned, today)
    if owned.override is None:
        assert result == calculated
    else:
        assert result.reason is R.OVERRIDE
        assert result.responsibility is responsibility_for_override(owned.override)
        assert (result.handover_date, result.start_date) == (
            calculated.handover_date,
            calculated.start_date,
        )


def test_handover_is_cheap_enough_for_every_prisoner_on_a_page() -> None:
    owned = OwnedFacts(prison_arrival_date=d("2024-01-01"), thd=d("2027-01-01"))
    cases = [OPEN_ISP, DETERMINATE, ISP, dataclasses.replace(DETERMINATE, recall=True)] * 250
    started = time.perf_counter()
    for facts in cases:
        handover(facts, owned, TODAY)
    # 1000 prisoners well inside 50 ms even on a slow CI machine (typically ~3 ms)
    assert time.perf_counter() - started < 0.05
