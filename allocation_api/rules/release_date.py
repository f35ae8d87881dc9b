"""The one release date that handover is worked back from.

A prisoner carries many dates (release, HDCED, SED, LED, TUSED...). Policy
names the ones that count for handover, and they differ for determinate and
indeterminate sentences. Choosing the wrong one moves a handover by months,
so the choice is a separate, tested function that also says *which* date it
picked (shown to users next to the handover date).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from allocation_api.rules.facts import PrisonerFacts


class ReleaseDateKind(enum.Enum):
    """Which sentence date the handover release date came from."""

    PED = "PED"
    """Parole eligibility date."""
    ARD = "ARD"
    """Automatic release date."""
    CRD = "CRD"
    """Conditional release date."""
    TED = "TED"
    """Tariff expiry date (prisoner search `tariffDate`)."""
    THD = "THD"
    """Target hearing date of the latest parole review for the current sentence."""


@dataclasses.dataclass(frozen=True, slots=True)
class ReleaseDate:
    """A date and the sentence date it was taken from."""

    date: dt.date
    kind: ReleaseDateKind


def determinate_release_date(p: PrisonerFacts) -> ReleaseDate | None:
    """PED if present (even in the past); otherwise the earlier of ARD and CRD.

    ARD wins a tie. HDCED and `releaseDate` are never used: HDC is not
    guaranteed, and `releaseDate` is itself derived from several dates.
    """
    if p.paroleEligibilityDate is not None:
        return ReleaseDate(p.paroleEligibilityDate, ReleaseDateKind.PED)
    ard, crd = p.automaticReleaseDate, p.conditionalReleaseDate
    if ard is not None and (crd is None or ard <= crd):
        return ReleaseDate(ard, ReleaseDateKind.ARD)
    if crd is not None:
        return ReleaseDate(crd, ReleaseDateKind.CRD)
    return None


def indeterminate_release_date(
    tariff_date: dt.date | None, thd: dt.date | None, today: dt.date
) -> ReleaseDate | None:
    """TED if strictly after today; else THD if after today; else the nearer one.

    When neither lies in the future, the one nearer to today is taken (both
    are then on or before today, so that is the later of the two) and TED
    wins a tie. With only one of them present, that one is used.
    """
    if tariff_date is not None and tariff_date > today:
        return ReleaseDate(tariff_date, ReleaseDateKind.TED)
    if thd is not None and thd > today:
        return ReleaseDate(thd, ReleaseDateKind.THD)
    if tariff_date is None:
        return None if thd is None else ReleaseDate(thd, ReleaseDateKind.THD)
    if thd is None or abs(tariff_date - today) <= abs(thd - today):
        return ReleaseDate(tariff_date, ReleaseDateKind.TED)
    return ReleaseDate(thd, ReleaseDateKind.THD)


def release_date_for_handover(
    p: PrisonerFacts, thd: dt.date | None, today: dt.date
) -> ReleaseDate | None:
    """The release date handover is calculated from, or None if there is none.

    `thd` is the target hearing date of the latest parole review recorded
    for the current sentence (owned data, not from prisoner search).
    """
    if p.indeterminateSentence:
        return indeterminate_release_date(p.tariffDate, thd, today)
    return determinate_release_date(p)
