"""Whether a case counts as early allocation (handover 15 months before release).

High-risk prisoners (terrorism, high profile, MAPPA 3 and the like) are
handed to the COM early. Assessments are recorded per prisoner over time,
and an assessment from a previous sentence says nothing about this one, so
only the latest assessment since the current sentence started counts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable


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


def counts_as_early_allocation(
    assessments: Iterable[EarlyAllocationAssessment], sentence_start: dt.date | None
) -> bool:
    """Latest assessment since sentence start is eligible, or discretionary and accepted.

    Without a sentence start date no assessment can be shown to belong to the
    current sentence, so the case does not count.
    """
    if sentence_start is None:
        return False
    latest = latest_assessment_since(assessments, sentence_start)
    if latest is None:
        return False
    if latest.outcome is EarlyAllocationOutcome.ELIGIBLE:
        return True
    return (
        latest.outcome is EarlyAllocationOutcome.DISCRETIONARY and latest.community_decision is True
    )
