"""Whether a case counts as early allocation (handover 15 months before release).

High-risk prisoners (terrorism, high profile, MAPPA 3 and the like) are
handed to the COM early. Assessments are recorded per prisoner over time,
and an assessment from a previous sentence says nothing about this one, so
only the latest assessment since the current sentence started counts. As
DOMAIN.md states it, that assessment counts only when it was made inside
the referral window (the earliest of TED, PED, THD, ARD and CRD at most 18
months away) and while the licence has not expired.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable

from allocation_api.rules.dates import minus_months

REFERRAL_WINDOW_MONTHS = 18


class EarlyAllocationOutcome(enum.StrEnum):
    """Result of an early allocation assessment (values equal names)."""

    ELIGIBLE = "ELIGIBLE"
    """One of the automatic criteria is met."""
    DISCRETIONARY = "DISCRETIONARY"
    """Referred to the community team, whose decision settles it."""
    INELIGIBLE = "INELIGIBLE"


@dataclasses.dataclass(frozen=True, slots=True)
class EarlyAllocationAssessment:
    """The parts of a recorded assessment the rule needs."""

    created_at: dt.datetime
    outcome: EarlyAllocationOutcome
    community_decision: bool | None = None
    """For DISCRETIONARY outcomes: True if the community team accepted the case;
    None while undecided."""


def latest_assessment_since(
    assessments: Iterable[EarlyAllocationAssessment], sentence_start: dt.date
) -> EarlyAllocationAssessment | None:
    """The most recent assessment created on or after the sentence start date.

    Equal timestamps are resolved in favour of the one later in `assessments`
    (the order they were stored in).
    """
    latest: EarlyAllocationAssessment | None = None
    for assessment in assessments:
        if assessment.created_at.date() < sentence_start:
            continue
        if latest is None or assessment.created_at >= latest.created_at:
            latest = assessment
    return latest


@dataclasses.dataclass(frozen=True, slots=True)
class EarlyAllocationWindow:
    """The sentence facts the referral window and the licence condition need."""

    earliest_key_date: dt.date | None
    """The earliest of TED, PED, THD, ARD and CRD (None: the prisoner has none)."""
    licence_expiry: dt.date | None
    today: dt.date


def earliest_key_date(*dates: dt.date | None) -> dt.date | None:
    """The earliest of the dates given (TED, PED, THD, ARD, CRD), ignoring missing ones."""
    present = [d for d in dates if d is not None]
    return min(present) if present else None


def made_in_window(assessment: EarlyAllocationAssessment, window: EarlyAllocationWindow) -> bool:
    """Made when the earliest key date was at most 18 months away (calendar months,
    clamped: DOMAIN's date arithmetic). No key date: no window to be made in."""
    if window.earliest_key_date is None:
        return False
    opens = minus_months(window.earliest_key_date, REFERRAL_WINDOW_MONTHS)
    return assessment.created_at.date() >= opens


def counts_as_early_allocation(
    assessments: Iterable[EarlyAllocationAssessment],
    sentence_start: dt.date | None,
    window: EarlyAllocationWindow,
) -> bool:
    """The latest assessment since sentence start is eligible, or discretionary and
    accepted by the community, AND it was made inside the referral window, AND the
    licence has not expired (a licence expiring today has not).

    Without a sentence start date no assessment can be shown to belong to the
    current sentence, so the case does not count.
    """
    if sentence_start is None:
        return False
    latest = latest_assessment_since(assessments, sentence_start)
    if latest is None:
        return False
    accepted = latest.outcome is EarlyAllocationOutcome.ELIGIBLE or (
        latest.outcome is EarlyAllocationOutcome.DISCRETIONARY and latest.community_decision is True
    )
    if not accepted or not made_in_window(latest, window):
        return False
    return window.licence_expiry is None or window.licence_expiry >= window.today
