"""Mutation results: the written object or a typed, expected failure.

Expected failures are union members carrying a machine-readable `code`, so a
client can branch on `__typename` and `code` without parsing messages. Only
unexpected failures appear in `errors`. `ServiceUnavailableError` extends the
contract's four: a mutation refuses with it when an upstream it needs to check
the rules cannot be read (nothing is written).
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from allocation_api.errors import (
    Conflict,
    DomainError,
    NotFound,
    UpstreamError,
    ValidationFailed,
)
from allocation_api.schema.case_facts import (
    ParoleReview,
    ResponsibilityOverrideRemoved,
    ResponsibilityOverrideType,
)
from allocation_api.schema.permissions import INHERIT
from allocation_api.schema.types import Allocation, Pom
from allocation_api.schema.values import CaseInformation
from allocation_api.store.failures import StoreConstraintViolation


@strawberry.interface(description="An expected failure of a mutation. Nothing was written.")
class Error:
    code: str = strawberry.field(metadata=INHERIT)
    message: str = strawberry.field(metadata=INHERIT)


@strawberry.type(description="The input is malformed or out of range.")
class ValidationError(Error):
    field: str | None = strawberry.field(metadata=INHERIT, description="The input field at fault.")


@strawberry.type(description="The prisoner, POM or prison named does not exist.")
class NotFoundError(Error):
    pass


@strawberry.type(description="A prison rule or the caller's access forbids the change.")
class NotAllowedError(Error):
    pass


@strawberry.type(description="The record changed since the caller read it (stale expectedVersion).")
class ConflictError(Error):
    current_version: int | None = strawberry.field(metadata=INHERIT)


@strawberry.type(description="An upstream needed to check the rules could not be read.")
class ServiceUnavailableError(Error):
    upstream: str | None = strawberry.field(metadata=INHERIT)


AllocationPayload = Annotated[
    Allocation
    | ValidationError
    | NotFoundError
    | NotAllowedError
    | ConflictError
    | ServiceUnavailableError,
    strawberry.union("AllocationPayload"),
]

CaseInformationPayload = Annotated[
    CaseInformation
    | ValidationError
    | NotFoundError
    | NotAllowedError
    | ConflictError
    | ServiceUnavailableError,
    strawberry.union("CaseInformationPayload"),
]

PomPayload = Annotated[
    Pom
    | ValidationError
    | NotFoundError
    | NotAllowedError
    | ConflictError
    | ServiceUnavailableError,
    strawberry.union("PomPayload"),
]

ResponsibilityOverridePayload = Annotated[
    ResponsibilityOverrideType
    | ValidationError
    | NotFoundError
    | NotAllowedError
    | ConflictError
    | ServiceUnavailableError,
    strawberry.union("ResponsibilityOverridePayload"),
]

RemoveResponsibilityOverridePayload = Annotated[
    ResponsibilityOverrideRemoved
    | ValidationError
    | NotFoundError
    | NotAllowedError
    | ConflictError
    | ServiceUnavailableError,
    strawberry.union("RemoveResponsibilityOverridePayload"),
]

ParoleReviewPayload = Annotated[
    ParoleReview
    | ValidationError
    | NotFoundError
    | NotAllowedError
    | ConflictError
    | ServiceUnavailableError,
    strawberry.union("ParoleReviewPayload"),
]

ErrorMember = (
    ValidationError | NotFoundError | NotAllowedError | ConflictError | ServiceUnavailableError
)


def error_member(error: DomainError | UpstreamError | StoreConstraintViolation) -> ErrorMember:
    """The payload member of an expected failure (nothing was written)."""
    if isinstance(error, StoreConstraintViolation):
        # A database guard caught what validation missed: still the caller's input.
        return ValidationError(
            code="CONSTRAINT_VIOLATION",
            message=f"The change breaks a data rule ({error.constraint})",
            field=None,
        )
    if isinstance(error, UpstreamError):
        return ServiceUnavailableError(
            code=error.code,
            message=(
                f"Cannot check the rules now: {error.upstream} did not answer ({error.message})"
            ),
            upstream=error.upstream,
        )
    if isinstance(error, ValidationFailed):
        return ValidationError(code=error.code, message=error.message, field=error.field)
    if isinstance(error, NotFound):
        return NotFoundError(code=error.code, message=error.message)
    if isinstance(error, Conflict):
        return ConflictError(
            code=error.code, message=error.message, current_version=error.current_version
        )
    return NotAllowedError(code=error.code, message=error.message)
