"""GraphQL enums: the rules' enums, shown as they are.

The rules own every domain enum (`rules/`); the schema wraps each one with
`strawberry.enum` (name and description here), so a value read from the
store or answered by a rule is already the schema's member: no conversion
between layers, and no second definition to keep in step.
"""

from __future__ import annotations

import strawberry

from allocation_api.resolvers.prisons import PrisonerFilter
from allocation_api.rules.override import OverrideReason
from allocation_api.rules.pom_type import PomType
from allocation_api.rules.responsibility import Responsibility, ResponsibilityOverride
from allocation_api.rules.vocabulary import (
    AllocationEventType,
    AllocationTrigger,
    OverrideResponsibilityReason,
    PomStatus,
    ProbationService,
    RoshLevel,
    Tier,
)

__all__ = [
    "AllocationEventType",
    "AllocationTrigger",
    "OverrideReason",
    "OverrideResponsibilityReason",
    "PomStatus",
    "PomType",
    "PrisonerFilter",
    "ProbationService",
    "Responsibility",
    "ResponsibilityOverride",
    "RoshLevel",
    "Tier",
]

strawberry.enum(PomType, description="Whether a POM is a prison employee or a probation officer.")
strawberry.enum(PomStatus, description="Availability of a POM at a prison (owned data).")
strawberry.enum(Tier, description="Tier from the case information; unknown is not a tier (null).")
strawberry.enum(ProbationService)
strawberry.enum(RoshLevel, description="Risk of serious harm, as probation's record states it.")
strawberry.enum(OverrideReason, description="Why a POM other than the recommended type was chosen.")
strawberry.enum(AllocationEventType)
strawberry.enum(AllocationTrigger)
strawberry.enum(
    Responsibility,
    description=(
        "Who is responsible for the case: CUSTODY_ONLY = POM responsible; "
        "CUSTODY_WITH_COM = POM responsible, COM supporting; "
        "COMMUNITY = COM responsible, POM supporting."
    ),
)
strawberry.enum(PrisonerFilter, description="Which prisoners of a prison to list.")
strawberry.enum(
    ResponsibilityOverride,
    name="ForcedResponsibility",
    description="A responsibility override: PRISON (POM responsible) or PROBATION (COM).",
)
strawberry.enum(
    OverrideResponsibilityReason,
    name="ResponsibilityOverrideReason",
    description="Why responsibility was overridden; OTHER needs free text.",
)
