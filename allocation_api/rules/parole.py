"""Parole reviews: which one gives the THD, when one is completed, when it is a release.

The store keeps each review's raw fields (target hearing date, custody report
due date, hearing outcome text, outcome received date); everything the
handover rules need is derived here, exactly as DOMAIN.md states it:

- A review's *date* is its target hearing date (THD) or, when it has none,
  its custody-report-due date; a review with neither has no date and never
  gives the THD.
- The reviews that count are those whose date is on or after the current
  sentence start (all of them when the sentence start is unknown); the THD is
  the date of the last of them by that date, whatever its status (ties: the
  one recorded last).
- A review is *completed* when its hearing outcome is other than blank, "Not
  Applicable" or "Not Specified", or when an outcome-received date is
  recorded; its outcome is a *release* only when the outcome is exactly
  "Release".
- The "latest completed parole outcome" of special cases 3 and 4 is taken
  from the completed reviews among those that count, ordered the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Final

NOT_AN_OUTCOME: Final = frozenset({"", "not applicable", "not specified"})
"""Hearing outcome texts that say no hearing outcome is known yet (compared
stripped and case-insensitively: the Parole Board's record is typed text)."""
RELEASE: Final = "Release"
"""The one outcome text that is a release (compared exactly)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ParoleReviewFacts:
    """The raw fields of one parole review, as recorded."""

    target_hearing_date: dt.date | None = None
    custody_report_due: dt.date | None = None
    hearing_outcome: str | None = None
    outcome_received_date: dt.date | None = None
    sequence: int = 0
    """Recording order (the row id): breaks ties between reviews with one date."""


@dataclasses.dataclass(frozen=True, slots=True)
class ParoleFacts:
    """What the handover rules take from a prisoner's parole reviews."""

    thd: dt.date | None = None
    """The chosen review's date (THD, or its custody-report-due date); None without one."""
    latest_completed_outcome_is_release: bool | None = None
    """Whether the latest completed review's outcome is a release; None without one."""


NO_PAROLE: Final = ParoleFacts()


def review_date(review: ParoleReviewFacts) -> dt.date | None:
    """The THD, else the custody-report-due date, else None."""
    if review.target_hearing_date is not None:
        return review.target_hearing_date
    return review.custody_report_due


def is_completed(review: ParoleReviewFacts) -> bool:
    """A hearing outcome other than blank / Not Applicable / Not Specified, or an
    outcome-received date."""
    outcome = (review.hearing_outcome or "").strip().lower()
    return outcome not in NOT_AN_OUTCOME or review.outcome_received_date is not None


def is_release(review: ParoleReviewFacts) -> bool:
    """The outcome is exactly "Release" (nothing else, however close, is a release)."""
    return review.hearing_outcome == RELEASE


def reviews_that_count(
    reviews: Iterable[ParoleReviewFacts], sentence_start: dt.date | None
) -> list[tuple[dt.date, ParoleReviewFacts]]:
    """(date, review) of the dated reviews on or after the sentence start, in order
    (date, then recording order): the last one gives the THD."""
    dated = [(date, r) for r in reviews if (date := review_date(r)) is not None]
    kept = [(d, r) for d, r in dated if sentence_start is None or d >= sentence_start]
    return sorted(kept, key=lambda pair: (pair[0], pair[1].sequence))


def chosen_review(
    reviews: Iterable[ParoleReviewFacts], sentence_start: dt.date | None
) -> ParoleReviewFacts | None:
    """The review that gives the THD (the last that counts), whatever its status."""
    counted = reviews_that_count(reviews, sentence_start)
    return counted[-1][1] if counted else None


def parole_facts(
    reviews: Sequence[ParoleReviewFacts], sentence_start: dt.date | None
) -> ParoleFacts:
    """The THD and the latest completed outcome of a prisoner's current sentence."""
    if not reviews:
        return NO_PAROLE
    counted = reviews_that_count(reviews, sentence_start)
    completed = [r for _, r in counted if is_completed(r)]
    return ParoleFacts(
        thd=counted[-1][0] if counted else None,
        latest_completed_outcome_is_release=is_release(completed[-1]) if completed else None,
    )
