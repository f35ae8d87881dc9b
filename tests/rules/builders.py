"""Small, explicit prisoner facts for rule tests.

A frozen dataclass shaped like prisoner search, so tests state exactly the
fields a rule reads and nothing comes from a hidden fixture.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

TODAY = dt.date(2025, 6, 15)


@dataclasses.dataclass(frozen=True)
class Facts:
    """Satisfies `PrisonerFacts`; every optional field defaults to None (absent)."""

    prisonerNumber: str = "A1234BC"
    dateOfBirth: dt.date | None = dt.date(1980, 1, 1)
    prisonId: str | None = "LEI"
    legalStatus: str | None = None
    imprisonmentStatus: str | None = None
    recall: bool | None = None
    indeterminateSentence: bool | None = None
    category: str | None = None
    sentenceStartDate: dt.date | None = None
    releaseDate: dt.date | None = None
    conditionalReleaseDate: dt.date | None = None
    automaticReleaseDate: dt.date | None = None
    paroleEligibilityDate: dt.date | None = None
    homeDetentionCurfewEligibilityDate: dt.date | None = None
    tariffDate: dt.date | None = None


def d(text: str) -> dt.date:
    """Shorthand for ISO dates in tables."""
    return dt.date.fromisoformat(text)
