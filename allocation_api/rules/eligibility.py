"""Which prisoners fall under OMiC (the Offender Management in Custody model).

Only OMiC-eligible prisoners get a POM, and only prisoners with an in-scope
legal status appear on prison lists at all. Both tests are kept here as
named predicates so the resolvers, the deallocation jobs and the tests all
agree on one definition.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from allocation_api.rules.dates import is_adult
from allocation_api.rules.facts import PrisonerFacts

IMMIGRATION_IMPRISONMENT_STATUS: Final = "DET"

# NOMIS imprisonment statuses of civil (non-criminal) committals: fine
# defaulters, civil contempt and the like. Those prisoners are out of OMiC.
CIVIL_IMPRISONMENT_STATUSES: Final = frozenset(
    {
        "A/FINE",
        "A_FINE",
        "A_CFINE",
        "CIVIL",
        "CIVIL_CON",
        "CIVIL_DT",
        "CIV_RMD",
        "YOC_CONT",
        "YO_CFINE",
    }
)

# Legal statuses a prison list considers. Everything else (REMAND, DEAD,
# CONVICTED_UNSENTENCED, CIVIL_PRISONER, UNKNOWN, OTHER) is left out, and a
# prisoner leaving this set loses their POMs (trigger legal_status_changed).
IN_SCOPE_LEGAL_STATUSES: Final = frozenset(
    {"SENTENCED", "INDETERMINATE_SENTENCE", "RECALL", "IMMIGRATION_DETAINEE"}
)


def is_sentenced(p: PrisonerFacts) -> bool:
    """A sentence start date plus something to count towards release.

    Deliberately independent of legal status: NOMIS legal status lags behind
    sentencing, while the dates are what a POM actually works from.
    """
    if p.sentenceStartDate is None:
        return False
    return (
        p.releaseDate is not None
        or p.paroleEligibilityDate is not None
        or p.homeDetentionCurfewEligibilityDate is not None
        or p.tariffDate is not None
        or p.indeterminateSentence is True
    )


def is_immigration_case(p: PrisonerFacts) -> bool:
    """Held under immigration powers (imprisonment status DET), sentenced or not."""
    return p.imprisonmentStatus == IMMIGRATION_IMPRISONMENT_STATUS


def is_civil(p: PrisonerFacts) -> bool:
    """A civil committal. A missing imprisonment status counts as criminal."""
    return p.imprisonmentStatus in CIVIL_IMPRISONMENT_STATUSES


def is_omic_eligible(p: PrisonerFacts, today: dt.date) -> bool:
    """Adult (18th birthday counts on the day), sentenced or immigration, not civil.

    A prisoner without a date of birth is not eligible: adulthood cannot be
    shown, and allocating a POM to a child would be the worse mistake.
    """
    if p.dateOfBirth is None or not is_adult(p.dateOfBirth, today):
        return False
    return (is_sentenced(p) or is_immigration_case(p)) and not is_civil(p)


def in_prison_list(p: PrisonerFacts) -> bool:
    """Whether a prison list considers this prisoner at all (legal status in scope)."""
    return p.legalStatus in IN_SCOPE_LEGAL_STATUSES
