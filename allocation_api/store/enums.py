"""The closed vocabularies of the owned store: the rules' enums, stored as text.

The rules own every domain enum (`rules/`); they are `StrEnum`s whose values
equal their upper-snake names and are exactly the text stored in Postgres,
so the store keeps them as they are (`column_types.EnumText`) and this module
is the one place that says which enum a column holds. The database enforces
the same sets with CHECK constraints (see `migrations/versions/0001_initial.py`);
a test inserts every member to keep the two in step. Columns are plain text
rather than Postgres enum types because adding a value to a CHECK is an
ordinary, transactional migration.
"""

from __future__ import annotations

from allocation_api.rules.early_allocation import EarlyAllocationOutcome
from allocation_api.rules.override import OverrideReason
from allocation_api.rules.pom_type import PomType
from allocation_api.rules.responsibility import Responsibility, ResponsibilityOverride
from allocation_api.rules.vocabulary import (
    AllocationEventType,
    AllocationTrigger,
    CaseEventKind,
    FactSource,
    OverrideResponsibilityReason,
    PomStatus,
    ProbationService,
    RoshLevel,
    Tier,
)

__all__ = [
    "AllocationEventType",
    "AllocationTrigger",
    "CaseEventKind",
    "EarlyAllocationOutcome",
    "FactSource",
    "OverrideReason",
    "OverrideResponsibilityReason",
    "PomStatus",
    "PomType",
    "ProbationService",
    "Responsibility",
    "ResponsibilityOverride",
    "RoshLevel",
    "Tier",
]
