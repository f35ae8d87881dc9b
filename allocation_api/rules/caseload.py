"""The numbers on a POM's caseload page.

Heads of offender management balance work between POMs from these counts,
so they are defined once, over plain case records, independent of how the
cases were loaded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from allocation_api.rules.responsibility import Responsibility

NEW_CASE_DAYS: Final = 7
UPCOMING_HANDOVER_DAYS: Final = 56
TIERS: Final = ("A", "B", "C", "D")
UNKNOWN_TIER: Final = "unknown"
"""Key of `by_tier` for cases without a tier (or with a value that is not A-D)."""


class CaseRole(enum.Enum):
    """The POM's role in a case (values equal names)."""

    PRIMARY = "PRIMARY"
    COWORKING = "COWORKING"


@dataclasses.dataclass(frozen=True, slots=True)
class CaseRecord:
    """One case on a POM's caseload, as the counts need it."""

    role: CaseRole
    tier: str | None
    allocated_at: dt.date
    """When this POM was given the case (in this role)."""
    responsibility: Responsibility | None
    """The prisoner's current responsibility; None if it could not be worked out."""
    handover_date: dt.date | None


@dataclasses.dataclass(frozen=True, slots=True)
class CaseloadCounts:
    """Counts for one POM. `by_tier` always has keys A, B, C, D and "unknown"."""

    primary: int
    coworking: int
    responsible: int
    supporting: int
    total: int
    new_last_7_days: int
    by_tier: Mapping[str, int]
    upcoming_handovers: int


def is_new(case: CaseRecord, today: dt.date) -> bool:
    """Allocated within the last 7 days: from `today - 7 days` to today, inclusive.

    Inclusive at the far end because the original service compared timestamps
    with "now minus 7 days", so a case from the same weekday last week was
    still new for part of that day; by date we keep it for the whole day.
    """
    return today - dt.timedelta(days=NEW_CASE_DAYS) <= case.allocated_at <= today


def is_upcoming_handover(case: CaseRecord, today: dt.date) -> bool:
    """A CustodyOnly case whose handover date is from today to today + 56 days inclusive.

    Only CustodyOnly: once handover has started (CustodyWithCom) it is no
    longer upcoming. A handover date in the past is not upcoming either.
    """
    if case.responsibility is not Responsibility.CUSTODY_ONLY or case.handover_date is None:
        return False
    return today <= case.handover_date <= today + dt.timedelta(days=UPCOMING_HANDOVER_DAYS)


def tier_key(tier: str | None) -> str:
    """The `by_tier` key for a tier value."""
    if tier is not None and tier in TIERS:
        return tier
    return UNKNOWN_TIER


def count_caseload(cases: Iterable[CaseRecord], today: dt.date) -> CaseloadCounts:
    """Count a POM's cases.

    - primary / coworking: cases by the POM's role;
    - responsible: primary cases where the POM leads (CustodyOnly or
      CustodyWithCom); supporting: primary cases where the COM leads
      (Community). A primary case with unknown responsibility is neither;
    - total: primary + coworking;
    - new_last_7_days, by_tier and upcoming_handovers count every case,
      whatever the role, so `by_tier` adds up to `total`.
    """
    primary = coworking = responsible = supporting = new = upcoming = 0
    by_tier = dict.fromkeys((*TIERS, UNKNOWN_TIER), 0)
    for case in cases:
        if case.role is CaseRole.PRIMARY:
            primary += 1
            if case.responsibility is not None:
                if case.responsibility.pom_responsible:
                    responsible += 1
                else:
                    supporting += 1
        else:
            coworking += 1
        if is_new(case, today):
            new += 1
        if is_upcoming_handover(case, today):
            upcoming += 1
        by_tier[tier_key(case.tier)] += 1
    return CaseloadCounts(
        primary=primary,
        coworking=coworking,
        responsible=responsible,
        supporting=supporting,
        total=primary + coworking,
        new_last_7_days=new,
        by_tier=MappingProxyType(by_tier),
        upcoming_handovers=upcoming,
    )
