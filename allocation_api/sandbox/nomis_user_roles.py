"""Fake NOMIS user roles: users, their caseloads (the prisons they may see), staff accounts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from allocation_api.sandbox.data import SandboxUser
from allocation_api.sandbox.server import FakeUpstream, json_response


class NomisUserRoles(FakeUpstream):
    """`/users/{username}`, `/users/{username}/caseloads`, `/users/staff/{staffId}`."""

    name = "nomis-user-roles"

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/users/staff/{staffId}", self.staff)
        router.add_get("/users/{username}", self.user)
        router.add_get("/users/{username}/caseloads", self.caseloads)

    def error_body(self, status: int, message: str) -> Mapping[str, Any]:
        return {"status": status, "userMessage": message, "developerMessage": message}

    def _user(self, request: web.Request) -> SandboxUser | None:
        return self.data.user(request.match_info["username"])

    async def user(self, request: web.Request) -> web.Response:
        user = self._user(request)
        if user is None:
            return self.error(404, f"User {request.match_info['username']} not found")
        body: dict[str, Any] = {
            "username": user.username,
            "staffId": user.staff_id,
            "firstName": user.first_name,
            "lastName": user.last_name,
            "activeCaseloadId": user.active_caseload,
            "accountStatus": user.account_status,
            "accountType": "GENERAL",
            "primaryEmail": user.email,
            "dpsRoleCodes": list(user.roles),
            "accountNonLocked": True,
            "credentialsNonExpired": True,
            "enabled": True,
            "admin": False,
            "active": user.account_status == "OPEN",
        }
        return json_response({k: v for k, v in body.items() if v is not None})

    async def caseloads(self, request: web.Request) -> web.Response:
        user = self._user(request)
        if user is None:
            return self.error(404, f"User {request.match_info['username']} not found")
        body: dict[str, Any] = {
            "username": user.username,
            "active": user.account_status == "OPEN",
            "accountType": "GENERAL",
            "caseloads": [
                {"id": c, "name": self.data.prison_name(c), "function": "GENERAL"}
                for c in user.caseloads
            ],
        }
        if user.active_caseload is not None:
            active = user.active_caseload
            body["activeCaseload"] = {"id": active, "name": self.data.prison_name(active)}
        return json_response(body)

    async def staff(self, request: web.Request) -> web.Response:
        raw = request.match_info["staffId"]
        staff = self.data.staff_member(int(raw)) if raw.isdigit() else None
        if staff is None:
            return self.error(404, f"Staff {raw} not found")
        user = self.data.user_for_staff(staff["staffId"])
        body: dict[str, Any] = {
            "staffId": staff["staffId"],
            "firstName": staff["firstName"].title(),
            "lastName": staff["lastName"].title(),
            "status": staff["status"],
        }
        if user is not None:
            if user.email is not None:
                body["primaryEmail"] = user.email
            account: dict[str, Any] = {
                "username": user.username,
                "active": user.account_status == "OPEN",
                "accountType": "GENERAL",
                "caseloads": [{"id": c, "name": self.data.prison_name(c)} for c in user.caseloads],
            }
            if user.active_caseload is not None:
                account["activeCaseload"] = {
                    "id": user.active_caseload,
                    "name": self.data.prison_name(user.active_caseload),
                }
            body["generalAccount"] = account
        return json_response(body)
