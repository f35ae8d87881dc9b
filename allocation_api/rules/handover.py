"""Handover: when responsibility for a case passes from the POM to the COM.

The calculation runs in a fixed order, mirroring the OMiC policy:

1. seven special cases (first match wins), none of which has dates;
2. otherwise, from the release date (`release_date.py`), the handover date
   table and the handover start date (open-prison rules for ISPs);
3. responsibility from those dates and today;
4. a manual responsibility override, which wins over all of the above.

It is pure and cheap (a handful of comparisons, no I/O) because it runs for
every prisoner on a page. Everything it needs besides prisoner search comes
in as one `OwnedFacts` value that the resolvers assemble.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Final

from allocation_api.rules.dates import minus_months, minus_months_and_days, plus_months
from allocation_api.rules.eligibility import is_immigration_case
from allocation_api.rules.facts import PrisonerFacts
from allocation_api.rules.open_prison import open_conditions_entry_date
from allocation_api.rules.release_date import (
    ReleaseDate,
    ReleaseDateKind,
    release_date_for_handover,
)
from allocation_api.rules.responsibility import (
    Responsibility,
    ResponsibilityOverride,
    responsibility_for_override,
    responsibility_from_dates,
)

# Months (and days) before release at which the COM takes over.
EARLY_ALLOCATION_MONTHS: Final = 15
INDETERMINATE_MONTHS: Final = 12
DETERMINATE_PAROLE_MONTHS: Final = 12
DETERMINATE_MONTHS: Final = 8
DETERMINATE_DAYS: Final = 14
# A determinate sentence whose release is at most this long after sentence
# start is too short for a POM to do meaningful work: the COM leads at once.
SHORT_SENTENCE_MONTHS: Final = 10
# An ISP whose parole hearing is further off than this stays with the POM
# (special cases 2-4).
THD_HORIZON_MONTHS: Final = 12

LOW_MAPPA_LEVELS: Final = frozenset({None, 0, 1})
HIGH_MAPPA_LEVELS: Final = frozenset({2, 3})


class HandoverReason(enum.Enum):
    """Which rule decided the handover (machine readable; values equal names)."""

    ADDITIONAL_ISP = "ADDITIONAL_ISP"
    ISP_RECALL_THD_OVER_12_MONTHS = "ISP_RECALL_THD_OVER_12_MONTHS"
    ISP_THD_OVER_12_MONTHS_MAPPA_2_3 = "ISP_THD_OVER_12_MONTHS_MAPPA_2_3"
    ISP_THD_OVER_12_MONTHS = "ISP_THD_OVER_12_MONTHS"
    RECALL = "RECALL"
    IMMIGRATION = "IMMIGRATION"
    NO_RELEASE_DATE = "NO_RELEASE_DATE"
    EARLY_ALLOCATION = "EARLY_ALLOCATION"
    INDETERMINATE = "INDETERMINATE"
    DETERMINATE_SHORT = "DETERMINATE_SHORT"
    DETERMINATE_PED = "DETERMINATE_PED"
    DETERMINATE = "DETERMINATE"
    OVERRIDE = "OVERRIDE"


@dataclasses.dataclass(frozen=True, slots=True)
class OwnedFacts:
    """Facts about a prisoner that do not come from prisoner search.

    Defaults describe a prisoner about whom nothing extra is known.
    """

    mappa_level: int | None = None
    """MAPPA level from case information (0-3); None when unknown."""
    thd: dt.date | None = None
    """Target hearing date of the latest parole review for the current sentence."""
    latest_completed_parole_outcome_is_release: bool | None = None
    """Outcome of the latest *completed* parole review for the current
    sentence; None when there is no completed review."""
    early_allocation: bool = False
    """Whether the case counts as early allocation (see `early_allocation.py`)."""
    additional_later_isp: bool = False
    """The prisoner also has another ISP that started later than the first."""
    override: ResponsibilityOverride | None = None
    """A manual responsibility override, which wins over the calculation."""
    prison_arrival_date: dt.date | None = None
    """Arrival at the current prison (open-prison rules for men)."""
    welsh_offender: bool = False
    """Probation service Wales (the Prescoed pilot)."""
    category_active_since: dt.date | None = None
    """When the current category became active (open-prison rules for women)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Handover:
    """Who is responsible today, the handover dates, and the rule that decided."""

    responsibility: Responsibility
    handover_date: dt.date | None
    start_date: dt.date | None
    reason: HandoverReason


def thd_over_12_months(thd: dt.date | None, today: dt.date) -> bool:
    """THD strictly later than 12 calendar months from today.

    A THD exactly 12 months ahead does not count ("later than"); this also
    matches the original service, which compared the date with a timestamp
    12 months from now, so the same day never qualified.
    """
    return thd is not None and thd > plus_months(today, THD_HORIZON_MONTHS)


def special_case(
    p: PrisonerFacts, facts: OwnedFacts, today: dt.date, release: ReleaseDate | None
) -> tuple[Responsibility, HandoverReason] | None:
    """The special case that applies, first match wins; None if the general rules apply.

    "Latest completed parole outcome is not a release" needs a completed
    review: with none (`None`), cases 3 and 4 do not apply.
    """
    isp = p.indeterminateSentence is True
    recalled = p.recall is True
    if isp and facts.additional_later_isp:
        return Responsibility.CUSTODY_ONLY, HandoverReason.ADDITIONAL_ISP
    if isp and thd_over_12_months(facts.thd, today):
        if recalled and facts.mappa_level in LOW_MAPPA_LEVELS:
            return Responsibility.CUSTODY_WITH_COM, HandoverReason.ISP_RECALL_THD_OVER_12_MONTHS
        if facts.latest_completed_parole_outcome_is_release is False:
            if facts.mappa_level in HIGH_MAPPA_LEVELS:
                return Responsibility.COMMUNITY, HandoverReason.ISP_THD_OVER_12_MONTHS_MAPPA_2_3
            if facts.mappa_level in LOW_MAPPA_LEVELS:
                return Responsibility.CUSTODY_WITH_COM, HandoverReason.ISP_THD_OVER_12_MONTHS
    if recalled:
        return Responsibility.COMMUNITY, HandoverReason.RECALL
    if is_immigration_case(p):
        return Responsibility.COMMUNITY, HandoverReason.IMMIGRATION
    if release is None:
        return Responsibility.CUSTODY_ONLY, HandoverReason.NO_RELEASE_DATE
    return None


def handover_date_for(
    release: ReleaseDate,
    *,
    sentence_start: dt.date | None,
    indeterminate: bool,
    early_allocation: bool,
) -> tuple[dt.date | None, HandoverReason]:
    """The handover date table (first match wins); None means COM responsible at once.

    The short-sentence row needs a sentence start date; without one it
    cannot be shown that the sentence is short, so the next rows apply.
    """
    if early_allocation:
        return minus_months(release.date, EARLY_ALLOCATION_MONTHS), HandoverReason.EARLY_ALLOCATION
    if indeterminate:
        return minus_months(release.date, INDETERMINATE_MONTHS), HandoverReason.INDETERMINATE
    if (
        sentence_start is not None
        and plus_months(sentence_start, SHORT_SENTENCE_MONTHS) >= release.date
    ):
        return None, HandoverReason.DETERMINATE_SHORT
    if release.kind is ReleaseDateKind.PED:
        return minus_months(release.date, DETERMINATE_PAROLE_MONTHS), HandoverReason.DETERMINATE_PED
    handover_date = minus_months_and_days(release.date, DETERMINATE_MONTHS, DETERMINATE_DAYS)
    return handover_date, HandoverReason.DETERMINATE


def handover_start_date(
    handover_date: dt.date | None, *, indeterminate: bool, open_conditions_since: dt.date | None
) -> dt.date | None:
    """The handover date, or for an ISP in open conditions the earlier of that and entry.

    Never later than the handover date, so responsibility always runs
    CustodyOnly -> CustodyWithCom -> Community.
    """
    if handover_date is None:
        return None
    if indeterminate and open_conditions_since is not None:
        return min(handover_date, open_conditions_since)
    return handover_date


def calculated_handover(p: PrisonerFacts, facts: OwnedFacts, today: dt.date) -> Handover:
    """The handover as the rules calculate it, ignoring any manual override."""
    release = release_date_for_handover(p, facts.thd, today)
    special = special_case(p, facts, today, release)
    if special is not None:
        responsibility, reason = special
        return Handover(responsibility, None, None, reason)
    assert release is not None  # special case 7 catches a missing release date

    indeterminate = p.indeterminateSentence is True
    handover_date, reason = handover_date_for(
        release,
        sentence_start=p.sentenceStartDate,
        indeterminate=indeterminate,
        early_allocation=facts.early_allocation,
    )
    open_since = (
        open_conditions_entry_date(
            prison_id=p.prisonId,
            category=p.category,
            prison_arrival_date=facts.prison_arrival_date,
            welsh_offender=facts.welsh_offender,
            category_active_since=facts.category_active_since,
        )
        if indeterminate
        else None
    )
    start_date = handover_start_date(
        handover_date, indeterminate=indeterminate, open_conditions_since=open_since
    )
    return Handover(
        responsibility_from_dates(handover_date, start_date, today),
        handover_date,
        start_date,
        reason,
    )


def handover(p: PrisonerFacts, facts: OwnedFacts, today: dt.date) -> Handover:
    """Responsibility, handover date, start date and reason for a prisoner today.

    A responsibility override replaces the responsibility and sets the
    reason to OVERRIDE; the calculated dates are kept because users still
    need to see when handover would have been due.
    """
    calculated = calculated_handover(p, facts, today)
    if facts.override is None:
        return calculated
    return dataclasses.replace(
        calculated,
        responsibility=responsibility_for_override(facts.override),
        reason=HandoverReason.OVERRIDE,
    )
