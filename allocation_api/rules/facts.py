"""What the rules need to know about a prisoner, and nothing about where it came from.

The rules are pure functions and must not depend on `upstream/` (data flows
one way: resolvers hand facts to rules). So instead of importing the upstream
pydantic model, they accept anything *shaped* like it. Attribute names are
exactly the prisoner-search JSON names, so the upstream `Prisoner` model
satisfies this Protocol structurally without an adapter, and a test pins that.

Members are read-only properties: a frozen pydantic model or a frozen
dataclass both match, and no rule can accidentally write to the facts.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable


@runtime_checkable
class PrisonerFacts(Protocol):
    """The prisoner-search fields the prison rules read.

    Everything but the prisoner number is optional because the upstream
    leaves null fields out of its JSON.
    """

    @property
    def prisonerNumber(self) -> str: ...

    @property
    def dateOfBirth(self) -> dt.date | None: ...

    @property
    def prisonId(self) -> str | None: ...

    @property
    def legalStatus(self) -> str | None: ...

    @property
    def imprisonmentStatus(self) -> str | None: ...

    @property
    def recall(self) -> bool | None: ...

    @property
    def indeterminateSentence(self) -> bool | None: ...

    @property
    def category(self) -> str | None: ...

    @property
    def sentenceStartDate(self) -> dt.date | None: ...

    @property
    def releaseDate(self) -> dt.date | None: ...

    @property
    def conditionalReleaseDate(self) -> dt.date | None: ...

    @property
    def automaticReleaseDate(self) -> dt.date | None: ...

    @property
    def paroleEligibilityDate(self) -> dt.date | None: ...

    @property
    def homeDetentionCurfewEligibilityDate(self) -> dt.date | None: ...

    @property
    def tariffDate(self) -> dt.date | None: ...
