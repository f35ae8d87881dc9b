"""GraphQL enums. Values are the upper-snake names stored in Postgres and used
by the rules, so mapping between layers is `Enum(value.value)` and nothing else."""

from __future__ import annotations

from enum import Enum

import strawberry

from allocation_api.resolvers.prisons import PrisonerFilter as PrisonerFilter


@strawberry.enum(description="Whether a POM is a prison employee or a probation officer.")
class PomType(Enum):
    PRISON = "PRISON"
    PROBATION = "PROBATION"


@strawberry.enum(description="Availability of a POM at a prison (owned data).")
class PomStatus(Enum):
    ACTIVE = "ACTIVE"
    UNAVAILABLE = "UNAVAILABLE"
    INACTIVE = "INACTIVE"


@strawberry.enum(description="Tier from the case information; unknown is not a tier (null).")
class Tier(Enum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


@strawberry.enum
class ProbationService(Enum):
    ENGLAND = "ENGLAND"
    WALES = "WALES"


@strawberry.enum(description="Why a POM other than the recommended type was chosen.")
class OverrideReason(Enum):
    SUITABILITY = "SUITABILITY"
    NO_STAFF = "NO_STAFF"
    CONTINUITY = "CONTINUITY"
    OTHER = "OTHER"


@strawberry.enum
class AllocationEventType(Enum):
    ALLOCATE_PRIMARY_POM = "ALLOCATE_PRIMARY_POM"
    REALLOCATE_PRIMARY_POM = "REALLOCATE_PRIMARY_POM"
    ALLOCATE_SECONDARY_POM = "ALLOCATE_SECONDARY_POM"
    REALLOCATE_SECONDARY_POM = "REALLOCATE_SECONDARY_POM"
    DEALLOCATE_PRIMARY_POM = "DEALLOCATE_PRIMARY_POM"
    DEALLOCATE_SECONDARY_POM = "DEALLOCATE_SECONDARY_POM"
    DEALLOCATE_RELEASED_OFFENDER = "DEALLOCATE_RELEASED_OFFENDER"


@strawberry.enum
class AllocationTrigger(Enum):
    USER = "USER"
    OFFENDER_TRANSFERRED = "OFFENDER_TRANSFERRED"
    OFFENDER_RELEASED = "OFFENDER_RELEASED"
    MANUAL_CHANGE = "MANUAL_CHANGE"
    LEGAL_STATUS_CHANGED = "LEGAL_STATUS_CHANGED"
    INACTIVE_POM = "INACTIVE_POM"


@strawberry.enum(
    description=(
        "Who is responsible for the case: CUSTODY_ONLY = POM responsible; "
        "CUSTODY_WITH_COM = POM responsible, COM supporting; "
        "COMMUNITY = COM responsible, POM supporting."
    )
)
class Responsibility(Enum):
    CUSTODY_ONLY = "CUSTODY_ONLY"
    CUSTODY_WITH_COM = "CUSTODY_WITH_COM"
    COMMUNITY = "COMMUNITY"


strawberry.enum(PrisonerFilter, description="Which prisoners of a prison to list.")
