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


class CaseEventKind(StrEnum):
    """What changed in a prisoner's case outside the allocation itself.

    One `case_event` row per change, written in the change's transaction, so
    the merged case history (allocation events and these, newest first) is
    complete and never ahead of or behind the facts it describes.
    """

    CASE_INFORMATION_SET = "CASE_INFORMATION_SET"
    CASE_INFORMATION_IMPORTED = "CASE_INFORMATION_IMPORTED"
    OVERRIDE_SET = "OVERRIDE_SET"
    OVERRIDE_REMOVED = "OVERRIDE_REMOVED"
    PAROLE_REVIEW_RECORDED = "PAROLE_REVIEW_RECORDED"
    PAROLE_REVIEW_UPDATED = "PAROLE_REVIEW_UPDATED"
    EARLY_ALLOCATION_ASSESSED = "EARLY_ALLOCATION_ASSESSED"
    VLO_CONTACT_ADDED = "VLO_CONTACT_ADDED"
    VLO_CONTACT_EDITED = "VLO_CONTACT_EDITED"
    VLO_CONTACT_REMOVED = "VLO_CONTACT_REMOVED"
    CHECKLIST_TASK_TICKED = "CHECKLIST_TASK_TICKED"
    CHECKLIST_TASK_UNTICKED = "CHECKLIST_TASK_UNTICKED"
    RELEASED_SENTENCE_CLEARED = "RELEASED_SENTENCE_CLEARED"


class FactSource(StrEnum):
    """Who a stored fact came from: a person, the probation record, or this service."""

    USER = "USER"
    PROBATION = "PROBATION"
    SYSTEM = "SYSTEM"


class RoshLevel(StrEnum):
    """Risk of serious harm, as probation's record states it."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    VERY_HIGH = "VERY_HIGH"
