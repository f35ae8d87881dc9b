"""Worked cases for the parole rules (DOMAIN.md, "Responsibility and handover"):
the THD choice, "completed" and "release", alone and through the handover rules."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from allocation_api.rules.handover import HandoverReason, OwnedFacts, handover
from allocation_api.rules.parole import (
    NO_PAROLE,
    ParoleFacts,
    ParoleReviewFacts,
    chosen_review,
    is_completed,
    is_release,
    parole_facts,
)
from allocation_api.rules.responsibility import Responsibility
from tests.rules.builders import TODAY, Facts, d

Review = ParoleReviewFacts
START = d("2025-01-01")


def review(
    thd: str | None = None,
    crd: str | None = None,
    outcome: str | None = None,
    received: str | None = None,
    seq: int = 0,
) -> Review:
    day = lambda s: None if s is None else d(s)  # noqa: E731
    return Review(day(thd), day(crd), outcome, day(received), seq)


@pytest.mark.parametrize(
    ("reviews", "start", "expected"),
    [
        pytest.param([], START, NO_PAROLE, id="no-reviews"),
        pytest.param(
            [review("2026-07-01", seq=1), review("2025-03-01", seq=2)],
            START,
            ParoleFacts(d("2026-07-01"), None),
            id="ordered-by-date-not-by-recording",
        ),
        pytest.param(
            [review("2025-03-01", outcome="No Release", seq=1), review("2027-01-01", seq=2)],
            START,
            ParoleFacts(d("2027-01-01"), False),
            id="last-one-whatever-its-status",
        ),
        pytest.param(
            [review("2024-12-31", outcome="No Release", seq=1)],
            START,
            NO_PAROLE,
            id="before-sentence-start-ignored",
        ),
        pytest.param(
            [review("2025-01-01", outcome="No Release", seq=1)],
            START,
            ParoleFacts(d("2025-01-01"), False),
            id="on-sentence-start-counts",
        ),
        pytest.param(
            [review(crd="2026-09-01", seq=1)],
            START,
            ParoleFacts(d("2026-09-01"), None),
            id="custody-report-due-fallback",
        ),
        pytest.param(
            [review("2026-07-01", seq=1), review(crd="2026-09-01", seq=2)],
            START,
            ParoleFacts(d("2026-09-01"), None),
            id="fallback-date-orders-with-the-thds",
        ),
        pytest.param(
            [review("2026-07-01", "2026-12-01", seq=1)],
            START,
            ParoleFacts(d("2026-07-01"), None),
            id="thd-wins-over-its-own-custody-report-due",
        ),
        pytest.param(
            [review(crd="2024-06-01", outcome="No Release", seq=1)],
            START,
            NO_PAROLE,
            id="fallback-date-before-sentence-start-ignored",
        ),
        pytest.param(
            [review(outcome="No Release", seq=1)],
            START,
            NO_PAROLE,
            id="no-date-at-all-ignored",
        ),
        pytest.param(
            [review("2026-07-01", outcome="Release", seq=2), review("2026-07-01", seq=1)],
            START,
            ParoleFacts(d("2026-07-01"), True),
            id="same-date-recorded-last-wins",
        ),
        pytest.param(
            [review("2019-01-01", outcome="No Release", seq=1)],
            None,
            ParoleFacts(d("2019-01-01"), False),
            id="unknown-sentence-start-keeps-all",
        ),
        pytest.param(
            [
                review("2025-02-01", outcome="Release", seq=1),
                review("2025-05-01", outcome="No Release", seq=2),
                review("2026-08-01", outcome="Not Specified", seq=3),
            ],
            START,
            ParoleFacts(d("2026-08-01"), False),
            id="latest-completed-outcome-by-date",
        ),
    ],
)
def test_parole_facts_worked_cases(
    reviews: list[Review], start: dt.date | None, expected: ParoleFacts
) -> None:
    assert parole_facts(reviews, start) == expected


def test_the_chosen_review_is_the_last_that_counts() -> None:
    first, second = review("2026-01-01", seq=1), review(crd="2026-02-01", seq=2)
    assert chosen_review([second, first], START) is second
    assert chosen_review([review("2020-01-01")], START) is None


@pytest.mark.parametrize(
    ("outcome", "received", "completed"),
    [
        (None, None, False),
        ("", None, False),
        ("   ", None, False),
        ("Not Applicable", None, False),
        ("not applicable ", None, False),
        ("Not Specified", None, False),
        ("No Release", None, True),
        ("Release", None, True),
        ("Adjourned", None, True),
        (None, "2025-06-01", True),
        ("Not Applicable", "2025-06-01", True),
    ],
)
def test_completed(outcome: str | None, received: str | None, completed: bool) -> None:
    assert is_completed(review("2026-01-01", outcome=outcome, received=received)) is completed


@pytest.mark.parametrize(
    ("outcome", "release"),
    [
        ("Release", True),
        ("release", False),
        ("Release ", False),
        ("Released", False),
        ("No Release", False),
        (None, False),
    ],
)
def test_release_only_when_exactly_release(outcome: str | None, release: bool) -> None:
    assert is_release(review("2026-01-01", outcome=outcome)) is release


# Through the handover rules: an ISP whose tariff has passed (TODAY is 2025-06-15).
ISP = Facts(
    indeterminateSentence=True,
    sentenceStartDate=START,
    tariffDate=d("2030-01-01"),
    imprisonmentStatus="LIFE",
)
EXPIRED_TARIFF_ISP = dataclasses.replace(ISP, tariffDate=d("2020-01-01"))


def _handover(p: Facts, reviews: list[Review], mappa: int | None = 2) -> tuple[object, ...]:
    parole = parole_facts(reviews, p.sentenceStartDate)
    facts = OwnedFacts(
        mappa_level=mappa,
        thd=parole.thd,
        latest_completed_parole_outcome_is_release=parole.latest_completed_outcome_is_release,
    )
    result = handover(p, facts, TODAY)
    return (result.responsibility, result.handover_date, result.start_date, result.reason)


NOT_RELEASED = review("2025-03-01", outcome="No Release", seq=1)


@pytest.mark.parametrize(
    ("prisoner", "reviews", "mappa", "expected"),
    [
        pytest.param(
            ISP,
            [NOT_RELEASED, review("2026-06-15", seq=2)],
            2,
            (
                Responsibility.CUSTODY_ONLY,
                d("2029-01-01"),
                d("2029-01-01"),
                HandoverReason.INDETERMINATE,
            ),
            id="thd-exactly-12-months-ahead-is-not-later",
        ),
        pytest.param(
            ISP,
            [NOT_RELEASED, review("2026-06-16", seq=2)],
            2,
            (Responsibility.COMMUNITY, None, None, HandoverReason.ISP_THD_OVER_12_MONTHS_MAPPA_2_3),
            id="thd-a-day-later-mappa-2",
        ),
        pytest.param(
            ISP,
            [NOT_RELEASED, review("2026-06-16", seq=2)],
            1,
            (Responsibility.CUSTODY_WITH_COM, None, None, HandoverReason.ISP_THD_OVER_12_MONTHS),
            id="thd-a-day-later-mappa-1",
        ),
        pytest.param(
            ISP,
            [review("2025-03-01", outcome="Release", seq=1), review("2026-06-16", seq=2)],
            2,
            (
                Responsibility.CUSTODY_ONLY,
                d("2029-01-01"),
                d("2029-01-01"),
                HandoverReason.INDETERMINATE,
            ),
            id="latest-completed-is-a-release",
        ),
        pytest.param(
            ISP,
            [review("2024-12-31", outcome="No Release", seq=1), review("2026-06-16", seq=2)],
            2,
            (
                Responsibility.CUSTODY_ONLY,
                d("2029-01-01"),
                d("2029-01-01"),
                HandoverReason.INDETERMINATE,
            ),
            id="completed-review-before-sentence-start-ignored",
        ),
        pytest.param(
            ISP,
            [NOT_RELEASED, review(crd="2026-06-16", seq=2)],
            3,
            (Responsibility.COMMUNITY, None, None, HandoverReason.ISP_THD_OVER_12_MONTHS_MAPPA_2_3),
            id="custody-report-due-fallback-gives-the-thd",
        ),
        pytest.param(
            EXPIRED_TARIFF_ISP,
            [review("2025-06-15", seq=1)],
            2,
            (
                Responsibility.COMMUNITY,
                d("2024-06-15"),
                d("2024-06-15"),
                HandoverReason.INDETERMINATE,
            ),
            id="thd-today-is-the-release-date",
        ),
        pytest.param(
            EXPIRED_TARIFF_ISP,
            [review("2026-09-01", seq=1), review("2027-09-01", seq=2)],
            2,
            (
                Responsibility.CUSTODY_ONLY,
                d("2026-09-01"),
                d("2026-09-01"),
                HandoverReason.INDETERMINATE,
            ),
            id="tariff-passed-thd-from-the-last-review",
        ),
    ],
)
def test_handover_from_parole_reviews_worked_cases(
    prisoner: Facts, reviews: list[Review], mappa: int, expected: tuple[object, ...]
) -> None:
    assert _handover(prisoner, reviews, mappa) == expected
