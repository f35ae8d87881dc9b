"""The closed vocabularies of the owned store, as Python string enums.

Each value equals its upper-snake name and is exactly the text stored in
Postgres, so converting between layers is `Enum(value)` and nothing else.
The database enforces the same sets with CHECK constraints (see
`migrations/versions/0001_initial.py`); a test inserts every member to keep
the two in step. Columns are plain text rather than Postgres enum types
because adding a value to a CHECK is an ordinary, transactional migration.
"""

from __future__ import annotations

from enum import StrEnum


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


class Tier(StrEnum):
    """Case tier; an unknown tier is NULL, never a member."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class PomTypeValue(StrEnum):
    """Recommended (or actual) kind of POM."""

    PRISON = "PRISON"
    PROBATION = "PROBATION"


class OverrideReasonValue(StrEnum):
    """Why a POM against the recommended type was chosen."""

    SUITABILITY = "SUITABILITY"
    NO_STAFF = "NO_STAFF"
    CONTINUITY = "CONTINUITY"
    OTHER = "OTHER"


class ProbationService(StrEnum):
    """Which probation service supervises the case."""

    ENGLAND = "ENGLAND"
    WALES = "WALES"


class PomStatus(StrEnum):
    """Availability of a POM at one prison."""

    ACTIVE = "ACTIVE"
    UNAVAILABLE = "UNAVAILABLE"
    INACTIVE = "INACTIVE"


class ResponsibilityValue(StrEnum):
    """The party a responsibility override makes responsible."""

    PRISON = "PRISON"
    PROBATION = "PROBATION"


class OverrideResponsibilityReason(StrEnum):
    """Why responsibility was overridden; OTHER requires free text."""

    LESS_THAN_10_MONTHS_TO_SERVE = "LESS_THAN_10_MONTHS_TO_SERVE"
    COMMUNITY_TEAM_TO_WORK_WITH_OFFENDER = "COMMUNITY_TEAM_TO_WORK_WITH_OFFENDER"
    PRISONER_RECALLED = "PRISONER_RECALLED"
    MOVED_TO_OPEN_PRISON = "MOVED_TO_OPEN_PRISON"
    OTHER = "OTHER"


class EarlyAllocationOutcome(StrEnum):
    """Result of an early allocation assessment."""

    ELIGIBLE = "ELIGIBLE"
    DISCRETIONARY = "DISCRETIONARY"
    INELIGIBLE = "INELIGIBLE"
