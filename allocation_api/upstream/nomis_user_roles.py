"""Typed reads from NOMIS user roles: who a user is and which prisons they may see."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from allocation_api.errors import UpstreamNotFound
from allocation_api.upstream.http import UpstreamHttp
from allocation_api.upstream.models import Caseload, NomisUser, UserCaseloads
from allocation_api.upstream.parsing import parse_one


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _GeneralAccount(_Lenient):
    username: str
    active: bool | None = None
    # The real service sends {"id", "name"}; a bare code is accepted too.
    activeCaseload: Caseload | str | None = None
    caseloads: list[Caseload | str] = Field(default_factory=list)


class _StaffUser(_Lenient):
    """`GET /users/staff/{staffId}`: a staff member and their NOMIS accounts.

    Private because callers only ever need the general (prison) account seen
    as a `NomisUser`; the shape stays inside this module.
    """

    staffId: int
    firstName: str | None = None
    lastName: str | None = None
    status: str | None = None
    primaryEmail: str | None = None
    generalAccount: _GeneralAccount | None = None


class NomisUserRolesClient:
    """Reads users and caseloads; usernames are upper case upstream."""

    def __init__(self, http: UpstreamHttp) -> None:
        self.http = http

    @property
    def name(self) -> str:
        return self.http.name

    async def user(self, username: str) -> NomisUser | None:
        """A NOMIS user by username; None if there is no such user."""
        body = await self._lookup(f"/users/{_username(username)}")
        return None if body is None else parse_one(NomisUser, body, upstream=self.name, what="user")

    async def caseloads(self, username: str) -> UserCaseloads | None:
        """The prisons (caseloads) a user may see; None if there is no such user."""
        body = await self._lookup(f"/users/{_username(username)}/caseloads")
        if body is None:
            return None
        return parse_one(UserCaseloads, body, upstream=self.name, what="caseloads")

    async def user_by_staff_id(self, staff_id: int) -> NomisUser | None:
        """The general (prison) account of a staff member, as a `NomisUser`.

        None if the staff id is unknown or the staff member has no general
        account (an admin-only account cannot be a POM's login).
        """
        body = await self._lookup(f"/users/staff/{int(staff_id)}")
        if body is None:
            return None
        staff = parse_one(_StaffUser, body, upstream=self.name, what="staff user")
        account = staff.generalAccount
        if account is None:
            return None
        active_caseload = account.activeCaseload
        return NomisUser(
            username=account.username,
            staffId=staff.staffId,
            firstName=staff.firstName,
            lastName=staff.lastName,
            activeCaseloadId=(
                active_caseload.id if isinstance(active_caseload, Caseload) else active_caseload
            ),
            primaryEmail=staff.primaryEmail,
            active=account.active if account.active is not None else _is_active(staff.status),
        )

    async def ping(self) -> bool:
        """Is NOMIS user roles up? (For /health: no token, no retry, no breaker.)"""
        return await self.http.ping()

    async def _lookup(self, path: str) -> object:
        try:
            return await self.http.get_json(path)
        except UpstreamNotFound:
            return None


def _username(username: str) -> str:
    return quote(username.upper(), safe="")


def _is_active(status: str | None) -> bool | None:
    return None if status is None else status.upper() == "ACTIVE"
