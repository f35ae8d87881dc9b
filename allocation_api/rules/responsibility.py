"""Who is responsible for a prisoner's case: the POM in custody or the COM outside.

Responsibility moves from the prison (POM) to the community (COM) around the
handover dates. This module holds the three-valued outcome, the step from
dates to responsibility, and the manual override that beats any calculation.
"""

from __future__ import annotations

import datetime as dt
import enum


class Responsibility(enum.StrEnum):
    """Who leads the case. Values equal names so they map 1:1 to GraphQL enums.

    Domain names: CustodyOnly, CustodyWithCom, Community.
    """

    CUSTODY_ONLY = "CUSTODY_ONLY"
    """POM responsible; no COM involvement yet."""
    CUSTODY_WITH_COM = "CUSTODY_WITH_COM"
    """POM responsible, COM supporting (the handover window)."""
    COMMUNITY = "COMMUNITY"
    """COM responsible, POM supporting."""

    @property
    def pom_responsible(self) -> bool:
        """True while the POM leads the case (CustodyOnly or CustodyWithCom)."""
        return self is not Responsibility.COMMUNITY


class ResponsibilityOverride(enum.StrEnum):
    """A manually forced responsibility (domain values Prison / Probation)."""

    PRISON = "PRISON"
    PROBATION = "PROBATION"


def responsibility_from_dates(
    handover_date: dt.date | None, start_date: dt.date | None, today: dt.date
) -> Responsibility:
    """Responsibility on `today` given the handover dates.

    No handover date means the COM is responsible at once. A missing start
    date is read as "starts on the handover date" (the default rule), so the
    function is total and never has to guess further.
    """
    if handover_date is None:
        return Responsibility.COMMUNITY
    start = handover_date if start_date is None else start_date
    if today < start:
        return Responsibility.CUSTODY_ONLY
    if today < handover_date:
        return Responsibility.CUSTODY_WITH_COM
    return Responsibility.COMMUNITY


def responsibility_for_override(override: ResponsibilityOverride) -> Responsibility:
    """The responsibility a manual override forces.

    Probation: the COM is responsible (Community). Prison: the POM is
    responsible *with* the COM supporting, as the prison service's own
    allocation manager treats an override to Prison (the COM already knows
    the case, so it is not CustodyOnly).
    """
    if override is ResponsibilityOverride.PROBATION:
        return Responsibility.COMMUNITY
    return Responsibility.CUSTODY_WITH_COM
