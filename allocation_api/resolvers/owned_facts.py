"""Gather the owned facts the handover rules need for one prisoner.

Case information (MAPPA, Wales), the responsibility override, parole reviews
(the THD and latest completed outcome, `rules/parole.py`) and early allocation
assessments come from the owned store through one batched loader, so a page of
prisoners costs one statement in all, not one per prisoner or per kind.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Hashable

from allocation_api.rules.early_allocation import (
    EarlyAllocationAssessment,
    EarlyAllocationWindow,
    counts_as_early_allocation,
    earliest_key_date,
)
from allocation_api.rules.handover import OwnedFacts
from allocation_api.rules.parole import ParoleReviewFacts, parole_facts
from allocation_api.rules.responsibility import ResponsibilityOverride
from allocation_api.store.owned_records import OwnedRecord
from allocation_api.store.views import ParoleReviewView
from allocation_api.upstream.models import Prisoner


def parole_review_facts(reviews: list[ParoleReviewView]) -> list[ParoleReviewFacts]:
    """The raw fields of the stored reviews, as the parole rules take them."""
    return [
        ParoleReviewFacts(
            target_hearing_date=r.target_hearing_date,
            custody_report_due=r.custody_report_due,
            hearing_outcome=r.hearing_outcome,
            outcome_received_date=r.outcome_received_date,
            sequence=r.id,
        )
        for r in reviews
    ]


@functools.lru_cache(maxsize=64)
def _plain_facts(mappa_level: int | None, override: str | None, welsh: bool) -> OwnedFacts:
    """The facts of a prisoner with no parole review and no early allocation
    assessment: one shared value per combination (at most 5 x 3 x 2 of them),
    so a page does not build 50 ten-field frozen dataclasses to say the same."""
    forced = None if override is None else ResponsibilityOverride(override)
    return OwnedFacts(mappa_level=mappa_level, override=forced, welsh_offender=welsh)


def _plain_key(owned: OwnedRecord) -> tuple[int | None, str | None, bool]:
    """(MAPPA level, responsibility override, Welsh): all the facts of a record
    without parole reviews or early allocation assessments."""
    case_info, override = owned.case_information, owned.responsibility_override
    return (
        None if case_info is None else case_info.mappa_level,
        None if override is None else str(override.responsibility),
        case_info is not None and case_info.probation_service == "WALES",
    )


def facts_key(owned: OwnedRecord, prisoner: Prisoner, today: dt.date) -> Hashable:
    """A value that is equal exactly when `facts_from` would be: the memo key of the
    handover rules. For most prisoners (no parole review, no assessment) a plain
    tuple, hashed in C; otherwise the facts themselves."""
    if owned.parole_reviews or owned.early_allocations:
        return facts_from(owned, prisoner, today)
    return _plain_key(owned)


def facts_from(owned: OwnedRecord, prisoner: Prisoner, today: dt.date) -> OwnedFacts:
    """The handover inputs held in one prisoner's owned record (pure; `today` for
    early allocation's licence condition)."""
    reviews, assessments = owned.parole_reviews, owned.early_allocations
    mappa_level, override, welsh = _plain_key(owned)
    if not reviews and not assessments:
        # Most prisoners: no parole review (no THD, no outcome) and no assessment
        # (not early allocation), which is what the general path below concludes.
        return _plain_facts(mappa_level, override, welsh)
    forced = None if override is None else ResponsibilityOverride(override)
    # The sentence start comes from the prisoner's live NOMIS record.
    parole = parole_facts(parole_review_facts(reviews), prisoner.sentenceStartDate)
    early = counts_as_early_allocation(
        [
            EarlyAllocationAssessment(
                created_at=a.created_at,
                outcome=a.outcome,
                community_decision=a.community_decision,
            )
            for a in assessments
        ],
        prisoner.sentenceStartDate,
        EarlyAllocationWindow(
            earliest_key_date(
                prisoner.tariffDate,
                prisoner.paroleEligibilityDate,
                parole.thd,
                prisoner.automaticReleaseDate,
                prisoner.conditionalReleaseDate,
            ),
            prisoner.licenceExpiryDate,
            today,
        ),
    )
    return OwnedFacts(
        mappa_level=mappa_level,
        thd=parole.thd,
        latest_completed_parole_outcome_is_release=parole.latest_completed_outcome_is_release,
        early_allocation=early,
        override=forced,
        welsh_offender=welsh,
    )
