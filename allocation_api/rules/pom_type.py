"""Prison POM or probation POM: what a staff member is, and what a case needs.

Probation-officer POMs are scarce and go to the riskiest cases the POM
actually leads; everyone else gets a prison-officer POM. The recommendation
is shown when allocating, and choosing against it needs override reasons
(see `override.py`).
"""

from __future__ import annotations

import enum
from typing import Final

from allocation_api.rules.eligibility import is_immigration_case
from allocation_api.rules.facts import PrisonerFacts
from allocation_api.rules.responsibility import Responsibility, ResponsibilityOverride

__all__ = [
    "PROBATION_POM_TIERS",
    "PomType",
    "Responsibility",
    "ResponsibilityOverride",
    "pom_type_for_position",
    "recommended_pom_type",
]


class PomType(enum.StrEnum):
    """The kind of POM. Values equal names so they map 1:1 to GraphQL enums."""

    PRISON = "PRISON"
    PROBATION = "PROBATION"


_POSITION_TO_POM_TYPE: Final = {"PRO": PomType.PRISON, "PO": PomType.PROBATION}

PROBATION_POM_TIERS: Final = frozenset({"A", "B"})


def pom_type_for_position(position: str | None) -> PomType | None:
    """The POM type of a NOMIS staff position: `PRO` prison, `PO` probation.

    Any other position (or none) gives None: the staff member's type is
    unknown, which callers must show as such rather than guess. Codes are
    matched exactly, as NOMIS sends them (upper case).
    """
    if position is None:
        return None
    return _POSITION_TO_POM_TYPE.get(position)


def recommended_pom_type(
    p: PrisonerFacts,
    *,
    tier: str | None,
    responsibility: Responsibility | None,
    override: ResponsibilityOverride | None,
) -> PomType:
    """The POM type recommended for a case (first match wins).

    1. Immigration case, or the POM is not the responsible party -> prison POM.
    2. Tier A or B -> probation POM.
    3. Otherwise (tier C, D or unknown) -> prison POM.

    Whether the POM is responsible is decided by the override when there is
    one (it wins over any calculation, so an override to Prison makes the
    POM responsible even if `responsibility` says Community), otherwise by
    `responsibility`; an unknown responsibility does not count as Community.
    `tier` is matched exactly ("A".."D"; anything else is unknown).
    """
    if override is not None:
        pom_responsible = override is ResponsibilityOverride.PRISON
    else:
        pom_responsible = responsibility is not Responsibility.COMMUNITY
    if is_immigration_case(p) or not pom_responsible:
        return PomType.PRISON
    if tier in PROBATION_POM_TIERS:
        return PomType.PROBATION
    return PomType.PRISON
