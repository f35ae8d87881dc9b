"""Validation of the reasons given for choosing a POM against the recommendation.

Allocating a probation POM where a prison POM is recommended (or the other
way round) must be justified so that scarce probation POMs are accounted
for. The reasons are recorded with the allocation, so this module also keeps
them clean: no reasons where none were needed, no details without their
reason, each reason once and in a stable order.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Final

from allocation_api.errors import ValidationFailed
from allocation_api.rules.pom_type import PomType


class OverrideReason(enum.StrEnum):
    """Why the recommended POM type was not followed. Declaration order is the
    canonical order of stored reasons."""

    SUITABILITY = "SUITABILITY"
    """The prisoner is (un)suitable for this kind of POM; needs a detail."""
    NO_STAFF = "NO_STAFF"
    """No POM of the recommended type is available."""
    CONTINUITY = "CONTINUITY"
    """The chosen POM already knows the prisoner."""
    OTHER = "OTHER"
    """Anything else; needs a detail."""


MAX_DETAIL_LENGTH: Final = 175

# Input field names of AllocatePrimaryPomInput, reported in ValidationFailed.field.
REASONS_FIELD: Final = "overrideReasons"
SUITABILITY_DETAIL_FIELD: Final = "suitabilityDetail"
OTHER_DETAIL_FIELD: Final = "overrideDetail"

_ORDER: Final = {reason: i for i, reason in enumerate(OverrideReason)}


def _present(detail: str | None) -> bool:
    # Whitespace alone says nothing, so it does not satisfy "needs detail".
    return detail is not None and detail.strip() != ""


def normalise_reasons(reasons: Iterable[OverrideReason]) -> tuple[OverrideReason, ...]:
    """Each reason once, in declaration order, whatever order the caller sent."""
    return tuple(sorted(set(reasons), key=_ORDER.__getitem__))


def is_override(chosen: PomType | None, recommended: PomType | None) -> bool:
    """Whether choosing `chosen` goes against `recommended`.

    Only when both are known and differ: with no recommendation, or a POM
    whose type is unknown (position neither PRO nor PO), nothing is being
    overridden.
    """
    return chosen is not None and recommended is not None and chosen is not recommended


def validate_override(
    chosen: PomType | None,
    recommended: PomType | None,
    reasons: Iterable[OverrideReason] | None,
    suitability_detail: str | None,
    other_detail: str | None,
) -> tuple[OverrideReason, ...]:
    """Check the override inputs of an allocation; return the reasons to store.

    Raises `ValidationFailed` with `code` and `field`:
    - OVERRIDE_NOT_NEEDED (`overrideReasons`, `suitabilityDetail` or
      `overrideDetail`): reasons or details were sent although the choice
      follows the recommendation. Rejected rather than silently dropped, so
      that stored allocations never carry reasons that justify nothing.
    - OVERRIDE_REASON_REQUIRED (`overrideReasons`): choosing against the
      recommendation without any reason.
    - OVERRIDE_DETAIL_NOT_NEEDED (`suitabilityDetail` / `overrideDetail`): a
      detail for a reason that was not chosen (same clean-data motive).
    - OVERRIDE_DETAIL_REQUIRED (`suitabilityDetail` / `overrideDetail`):
      SUITABILITY or OTHER chosen without a (non-blank) detail.
    - OVERRIDE_DETAIL_TOO_LONG (same fields): a detail over 175 characters
      (175 is accepted); measured on the text as it will be stored.

    An empty string counts as "not sent", so clients may send "" for unused
    detail fields.
    """
    normalised = normalise_reasons(reasons or ())
    details = (
        (OverrideReason.SUITABILITY, SUITABILITY_DETAIL_FIELD, suitability_detail),
        (OverrideReason.OTHER, OTHER_DETAIL_FIELD, other_detail),
    )

    if not is_override(chosen, recommended):
        if normalised:
            raise ValidationFailed(
                "Override reasons are only needed when choosing against the recommended POM type",
                code="OVERRIDE_NOT_NEEDED",
                field=REASONS_FIELD,
            )
        for _, field, detail in details:
            if detail:
                raise ValidationFailed(
                    "Override details are only needed when choosing against the"
                    " recommended POM type",
                    code="OVERRIDE_NOT_NEEDED",
                    field=field,
                )
        return ()

    if not normalised:
        raise ValidationFailed(
            "Choosing against the recommended POM type needs at least one override reason",
            code="OVERRIDE_REASON_REQUIRED",
            field=REASONS_FIELD,
        )
    for reason, field, detail in details:
        if reason in normalised:
            if not _present(detail):
                raise ValidationFailed(
                    f"Override reason {reason.value} needs a detail",
                    code="OVERRIDE_DETAIL_REQUIRED",
                    field=field,
                )
        elif detail:
            raise ValidationFailed(
                f"A detail was given but override reason {reason.value} was not chosen",
                code="OVERRIDE_DETAIL_NOT_NEEDED",
                field=field,
            )
        if detail is not None and len(detail) > MAX_DETAIL_LENGTH:
            raise ValidationFailed(
                f"Override detail must be at most {MAX_DETAIL_LENGTH} characters",
                code="OVERRIDE_DETAIL_TOO_LONG",
                field=field,
            )
    return normalised
