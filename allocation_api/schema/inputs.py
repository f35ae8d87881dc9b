"""Mutation inputs. Shapes only: checking values is the resolvers' job, so
that every failure, including a malformed prisoner number, comes back as a
typed payload member rather than a GraphQL coercion error."""

from __future__ import annotations

import strawberry

from allocation_api.schema.enums import OverrideReason, PomStatus, ProbationService, Tier

_VERSION = "Optimistic lock: refuse with ConflictError unless the current version is this."
_IDEMPOTENCY = "Retrying with the same key returns the first result without writing again."


@strawberry.input
class AllocatePrimaryPomInput:
    offender_no: str
    staff_id: int
    override_reasons: list[OverrideReason] | None = None
    override_detail: str | None = strawberry.field(
        default=None, description="Required with OTHER; at most 175 characters."
    )
    suitability_detail: str | None = strawberry.field(
        default=None, description="Required with SUITABILITY; at most 175 characters."
    )
    message: str | None = None
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY)


@strawberry.input
class AllocateSecondaryPomInput:
    offender_no: str
    staff_id: int
    message: str | None = None
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY)


@strawberry.input
class DeallocateInput:
    offender_no: str
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY)


@strawberry.input
class CaseInformationInput:
    offender_no: str
    tier: Tier | None = None
    probation_service: ProbationService | None = None
    mappa_level: int | None = strawberry.field(default=None, description="0-3; null = unknown.")
    crn: str | None = None
    com_name: str | None = None
    com_email: str | None = None
    team_name: str | None = None
    ldu_code: str | None = None
    manual_entry: bool = True
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input
class PomDetailsInput:
    staff_id: int
    prison_code: str
    working_pattern: float | None = strawberry.field(
        default=None, description="Fraction of full time, 0.1 .. 1.0 (two decimals at most)."
    )
    status: PomStatus | None = None
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)
