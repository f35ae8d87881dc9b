"""Checking and normalising the values a client sends, in one place.

Every input value is parsed here before it reaches a resolver or a command:
a malformed value is refused with `ValidationFailed` naming the input field,
which a mutation answers as a `ValidationError` member (nothing read, nothing
written) and a query as an error at its path.
"""

from __future__ import annotations

import datetime as dt
import re

from allocation_api.errors import ValidationFailed

OFFENDER_NO = re.compile(r"^[A-Z][0-9]{4}[A-Z]{2}$")
PRISON_CODE = re.compile(r"^[A-Z]{3}$")

DETAIL_MAX = 175
MESSAGE_MAX = 2000
NAME_MAX = 200
IDEMPOTENCY_KEY_MAX = 200
CRN_MAX = 20
EMAIL_MAX = 254
LDU_CODE_MAX = 20


MAX_CODE_CHARS = 64
"""Longer identifiers are refused before any normalising, and never echoed whole."""


def _shown(value: str) -> str:
    return repr(value) if len(value) <= MAX_CODE_CHARS else f"a {len(value)}-character value"


def check_offender_no(value: str, field: str = "offenderNo") -> str:
    """Upper-case and validate a prisoner number (one letter, four digits, two letters)."""
    normalised = value.strip().upper() if len(value) <= MAX_CODE_CHARS else ""
    if not OFFENDER_NO.match(normalised):
        raise ValidationFailed(
            f"{_shown(value)} is not a prisoner number (expected e.g. A1234BC)",
            code="INVALID_OFFENDER_NO",
            field=field,
        )
    return normalised


def check_prison_code(value: str, field: str = "prisonCode") -> str:
    normalised = value.strip().upper() if len(value) <= MAX_CODE_CHARS else ""
    if not PRISON_CODE.match(normalised):
        raise ValidationFailed(
            f"{_shown(value)} is not a prison code (expected three letters, e.g. LEI)",
            code="INVALID_PRISON_CODE",
            field=field,
        )
    return normalised


def no_nul(value: str, field: str) -> str:
    # Postgres text cannot hold NUL; refuse it as input, with the field named.
    if "\x00" in value:
        raise ValidationFailed(
            f"{field} must not contain NUL characters", code="INVALID_CHARACTERS", field=field
        )
    return value


def text(value: str | None, field: str, limit: int) -> str | None:
    """Stripped text of at most `limit` characters; blank is None."""
    if value is None:
        return None
    value = no_nul(value, field).strip()
    if len(value) > limit:
        raise ValidationFailed(
            f"{field} must be at most {limit} characters (got {len(value)})",
            code="TOO_LONG",
            field=field,
        )
    return value or None


def expected_version(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise ValidationFailed(
            "expectedVersion must not be negative", code="INVALID_VERSION", field="expectedVersion"
        )
    return value


def idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    no_nul(value, "idempotencyKey")
    if not value.strip() or len(value) > IDEMPOTENCY_KEY_MAX:
        raise ValidationFailed(
            f"idempotencyKey must be 1..{IDEMPOTENCY_KEY_MAX} characters",
            code="INVALID_IDEMPOTENCY_KEY",
            field="idempotencyKey",
        )
    return value


def staff_id(value: int) -> int:
    if value <= 0:
        raise ValidationFailed("staffId must be positive", code="INVALID_STAFF_ID", field="staffId")
    return value


def email(value: str | None) -> str | None:
    value = text(value, "comEmail", EMAIL_MAX)
    if value is not None and (
        value.count("@") != 1 or value.startswith("@") or value.endswith("@")
    ):
        raise ValidationFailed(
            f"{value!r} is not an email address", code="INVALID_EMAIL", field="comEmail"
        )
    return value


def crn(value: str | None) -> str | None:
    value = text(value, "crn", CRN_MAX)
    if value is None:
        return None
    value = value.upper()
    if not (len(value) == 7 and value[0].isalpha() and value[1:].isdigit()):
        raise ValidationFailed(
            f"{value!r} is not a CRN (one letter and six digits, e.g. X123456)",
            code="INVALID_CRN",
            field="crn",
        )
    return value


def mappa_level(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= 3:
        raise ValidationFailed(
            "mappaLevel must be 0, 1, 2 or 3 (null = unknown)",
            code="INVALID_MAPPA_LEVEL",
            field="mappaLevel",
        )
    return value


def working_pattern(value: float | None) -> float | None:
    if value is None:
        return None
    if not 0.1 <= value <= 1.0 or round(value, 2) != value:
        raise ValidationFailed(
            "workingPattern must be between 0.1 and 1.0 with at most two decimals",
            code="INVALID_WORKING_PATTERN",
            field="workingPattern",
        )
    return value


OVERRIDE_REASON_TEXT_MAX = 500
HEARING_OUTCOME_MAX = 200
PAROLE_REVIEW_ID_MAX = 2**63 - 1


def override_reason_text(reason_is_other: bool, value: str | None) -> str | None:
    """Free text of a responsibility override: required (non-blank) with OTHER, refused
    with any other reason (so stored overrides never carry text that explains nothing),
    at most 500 characters."""
    text_value = text(value, "reasonText", OVERRIDE_REASON_TEXT_MAX)
    if reason_is_other and text_value is None:
        raise ValidationFailed(
            "Reason OTHER needs a reasonText", code="REASON_TEXT_REQUIRED", field="reasonText"
        )
    if not reason_is_other and text_value is not None:
        raise ValidationFailed(
            "reasonText is only recorded with reason OTHER",
            code="REASON_TEXT_NOT_NEEDED",
            field="reasonText",
        )
    return text_value


def hearing_outcome(value: str | None) -> str | None:
    """The Parole Board's outcome text as typed (stripped; blank is none); at most 200."""
    return text(value, "hearingOutcome", HEARING_OUTCOME_MAX)


def parole_review_dates(
    target_hearing_date: dt.date | None, custody_report_due: dt.date | None
) -> None:
    """A review needs a THD or a custody-report-due date: without either it can never
    give the THD, so it records nothing the rules use."""
    if target_hearing_date is None and custody_report_due is None:
        raise ValidationFailed(
            "A parole review needs a targetHearingDate or a custodyReportDue date",
            code="PAROLE_REVIEW_DATE_REQUIRED",
            field="targetHearingDate",
        )


def parole_review_id(value: int) -> int:
    if not 0 < value <= PAROLE_REVIEW_ID_MAX:
        raise ValidationFailed(
            "paroleReviewId must be a positive id", code="INVALID_ID", field="paroleReviewId"
        )
    return value
