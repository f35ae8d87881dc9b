"""The closed vocabularies of an allocation's record, owned by the rules.

Each value equals its upper-snake name and is exactly the text the store
keeps (`store/enums.py`) and the name the GraphQL schema shows
(`schema/enums.py`): one class per concept, used as it is by every layer.
The vocabularies the rule functions decide with live beside them
(`pom_type.PomType`, `override.OverrideReason`, `responsibility.Responsibility`,
...); these are the ones the rules only record.
"""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    """Case tier; an unknown tier is None, never a member."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class ProbationService(StrEnum):
    """Which probation service supervises the case."""

    ENGLAND = "ENGLAND"
    WALES = "WALES"


class PomStatus(StrEnum):
    """Availability of a POM at one prison."""

    ACTIVE = "ACTIVE"
    UNAVAILABLE = "UNAVAILABLE"
    INACTIVE = "INACTIVE"


class AllocationEventType(StrEnum):
    """What happened to an allocation (one history row per change)."""

    ALLOCATE_PRIMARY_POM = "ALLOCATE_PRIMARY_POM"
    REALLOCATE_PRIMARY_POM = "REALLOCATE_PRIMARY_POM"
    ALLOCATE_SECONDARY_POM = "ALLOCATE_SECONDARY_POM"
    REALLOCATE_SECONDARY_POM = "REALLOCATE_SECONDARY_POM"
    DEALLOCATE_PRIMARY_POM = "DEALLOCATE_PRIMARY_POM"
    DEALLOCATE_SECONDARY_POM = "DEALLOCATE_SECONDARY_POM"
    DEALLOCATE_RELEASED_OFFENDER = "DEALLOCATE_RELEASED_OFFENDER"


class AllocationTrigger(StrEnum):
    """Why an allocation changed: a person, or an upstream fact."""

    USER = "USER"
    OFFENDER_TRANSFERRED = "OFFENDER_TRANSFERRED"
    OFFENDER_RELEASED = "OFFENDER_RELEASED"
    MANUAL_CHANGE = "MANUAL_CHANGE"
    LEGAL_STATUS_CHANGED = "LEGAL_STATUS_CHANGED"
    INACTIVE_POM = "INACTIVE_POM"


class OverrideResponsibilityReason(StrEnum):
    """Why responsibility was overridden; OTHER requires free text."""

    LESS_THAN_10_MONTHS_TO_SERVE = "LESS_THAN_10_MONTHS_TO_SERVE"
    COMMUNITY_TEAM_TO_WORK_WITH_OFFENDER = "COMMUNITY_TEAM_TO_WORK_WITH_OFFENDER"
    PRISONER_RECALLED = "PRISONER_RECALLED"
    MOVED_TO_OPEN_PRISON = "MOVED_TO_OPEN_PRISON"
    OTHER = "OTHER"
