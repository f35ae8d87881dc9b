"""Typed views of upstream JSON, named and shaped as the upstream APIs send it.

The upstreams leave null fields out, so every optional field defaults to None.
Unknown fields are ignored: upstreams add fields without notice. These types
are the only thing `upstream/` hands to the rest of the service.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Upstream(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Alert(_Upstream):
    alertType: str | None = None
    alertCode: str | None = None
    active: bool | None = None
    expired: bool | None = None


class Prisoner(_Upstream):
    """A prisoner as prisoner search returns it (`/prisoner/{no}` and batch reads)."""

    prisonerNumber: str
    bookingId: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    dateOfBirth: dt.date | None = None
    prisonId: str | None = None
    cellLocation: str | None = None
    legalStatus: str | None = None
    imprisonmentStatus: str | None = None
    imprisonmentStatusDescription: str | None = None
    recall: bool | None = None
    indeterminateSentence: bool | None = None
    category: str | None = None
    receptionDate: dt.date | None = None
    sentenceStartDate: dt.date | None = None
    releaseDate: dt.date | None = None
    confirmedReleaseDate: dt.date | None = None
    conditionalReleaseDate: dt.date | None = None
    automaticReleaseDate: dt.date | None = None
    paroleEligibilityDate: dt.date | None = None
    homeDetentionCurfewEligibilityDate: dt.date | None = None
    tariffDate: dt.date | None = None
    licenceExpiryDate: dt.date | None = None
    sentenceExpiryDate: dt.date | None = None
    topupSupervisionExpiryDate: dt.date | None = None
    postRecallReleaseDate: dt.date | None = None
    restrictedPatient: bool = False
    alerts: list[Alert] = Field(default_factory=list)


class PrisonerPage(_Upstream):
    """The Spring page shape of `GET /prisoner-search/prison/{prisonId}`."""

    content: list[Prisoner] = Field(default_factory=list)
    totalElements: int = 0
    totalPages: int = 0
    number: int = 0
    size: int = 0
    last: bool = True
    first: bool = True
    numberOfElements: int = 0
    empty: bool = True


class StaffRole(_Upstream):
    """One row of `GET /api/staff/roles/{prisonId}/role/POM` (fields used here).

    The response has no email address: a POM's email comes from NOMIS user
    roles (`/users/staff/{staffId}`).
    """

    staffId: int
    firstName: str | None = None
    lastName: str | None = None
    status: str | None = None
    agencyId: str | None = None
    agencyDescription: str | None = None
    position: str | None = None
    positionDescription: str | None = None
    role: str | None = None
    scheduleType: str | None = None
    hoursPerWeek: float | None = None
    fromDate: dt.date | None = None
    toDate: dt.date | None = None


class StaffDetail(_Upstream):
    """One element of `POST /api/staff` (batch staff read)."""

    staffId: int
    firstName: str | None = None
    lastName: str | None = None
    status: Literal["ACTIVE", "INACT"] | str | None = None
    gender: str | None = None
    dateOfBirth: dt.date | None = None
    thumbnailId: int | None = None


class Agency(_Upstream):
    """`GET /api/agencies/{agencyId}`."""

    agencyId: str
    description: str | None = None
    agencyType: str | None = None
    active: bool | None = None


class Movement(_Upstream):
    offenderNo: str
    fromAgency: str | None = None
    toAgency: str | None = None
    movementType: str | None = None
    directionCode: str | None = None
    movementDate: dt.date | None = None
    movementTime: str | None = None
    createDateTime: dt.datetime | None = None


class NomisUser(_Upstream):
    """`GET /users/{username}` of NOMIS user roles."""

    username: str
    staffId: int | None = None
    firstName: str | None = None
    lastName: str | None = None
    activeCaseloadId: str | None = None
    accountStatus: str | None = None
    primaryEmail: str | None = None
    dpsRoleCodes: list[str] = Field(default_factory=list)
    active: bool | None = None


class Caseload(_Upstream):
    id: str
    name: str | None = None
    function: str | None = None


class UserCaseloads(_Upstream):
    """`GET /users/{username}/caseloads`: the prisons a user may see."""

    username: str
    activeCaseload: Caseload | None = None
    caseloads: list[Caseload] = Field(default_factory=list)


class TokenResponse(_Upstream):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = 1200
    scope: str | None = None
