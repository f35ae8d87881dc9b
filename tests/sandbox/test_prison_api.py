"""The fake prison-api and NOMIS user roles over HTTP."""

from __future__ import annotations

import datetime as dt

from .conftest import FakeClient

STAFF_ROLE_FIELDS = {
    "staffId",
    "firstName",
    "lastName",
    "status",
    "thumbnailId",
    "gender",
    "dateOfBirth",
    "agencyId",
    "agencyDescription",
    "position",
    "positionDescription",
    "role",
    "roleDescription",
    "scheduleType",
    "scheduleTypeDescription",
    "hoursPerWeek",
    "fromDate",
    "toDate",
}
PRISON_API_ERROR_KEYS = {"status", "errorCode", "userMessage", "developerMessage", "moreInfo"}


async def test_pom_roles_page_by_headers(fakes: FakeClient) -> None:
    data = fakes.sandbox.data
    path = "/api/staff/roles/LEI/role/POM"
    first = await fakes.get("prison-api", path)
    total = len(data.poms("LEI"))
    assert first.status == 200
    assert (first.headers["Total-Records"], first.headers["Page-Offset"]) == (str(total), "0")
    assert first.headers["Page-Limit"] == "10"
    assert len(first.json()) == min(10, total)
    rest = await fakes.get("prison-api", path, headers={"Page-Offset": "10", "Page-Limit": "50"})
    assert (rest.headers["Page-Offset"], rest.headers["Page-Limit"]) == ("10", "50")
    assert first.json() + rest.json() == data.poms("LEI")
    row = first.json()[0]
    assert {"staffId", "firstName", "lastName", "agencyId", "position", "role"} <= row.keys()
    # Exactly the fields of the real response (DOMAIN.md): no email, `status` always ACTIVE.
    for listed in first.json() + rest.json():
        assert listed.keys() <= STAFF_ROLE_FIELDS, listed.keys() - STAFF_ROLE_FIELDS
        assert listed["status"] == "ACTIVE"
    assert isinstance(row["staffId"], int)
    assert row["role"] == "POM"
    bad = await fakes.get("prison-api", path, headers={"Page-Limit": "ten"})
    assert bad.status == 400
    assert set(bad.json()) == PRISON_API_ERROR_KEYS


async def test_batch_staff_read_includes_inactive_and_skips_unknown(fakes: FakeClient) -> None:
    data = fakes.sandbox.data
    inactive = data.inactive_poms("MDI")[0]["staffId"]
    active = data.active_poms("MDI")[0]["staffId"]
    reply = await fakes.post("prison-api", "/api/staff", json=[inactive, active, 1])
    by_id = {s["staffId"]: s for s in reply.json()}
    assert set(by_id) == {inactive, active}
    assert (by_id[inactive]["status"], by_id[active]["status"]) == ("INACT", "ACTIVE")
    assert (await fakes.post("prison-api", "/api/staff", json={"ids": [1]})).status == 400
    assert (await fakes.post("prison-api", "/api/staff", json=[])).json() == []


async def test_single_staff_read_is_gone_upstream(fakes: FakeClient) -> None:
    staff_id = fakes.sandbox.data.pom_staff_ids("LEI")[0]
    reply = await fakes.get("prison-api", f"/api/staff/{staff_id}")
    assert reply.status == 404
    assert set(reply.json()) == PRISON_API_ERROR_KEYS


async def test_agencies(fakes: FakeClient) -> None:
    reply = await fakes.get("prison-api", "/api/agencies/LEI")
    assert reply.json() == {
        "agencyId": "LEI",
        "description": "HMP Leeds",
        "longDescription": "HMP Leeds",
        "agencyType": "INST",
        "active": True,
    }
    prescoed = (await fakes.get("prison-api", "/api/agencies/UPI")).json()
    assert prescoed["description"] == "HMP Prescoed"
    missing = await fakes.get("prison-api", "/api/agencies/QQQ")
    assert missing.status == 404
    body = missing.json()
    assert set(body) == PRISON_API_ERROR_KEYS
    assert body["status"] == 404


async def test_movements_by_date(fakes: FakeClient) -> None:
    released = next(m for m in fakes.sandbox.data.movements() if m["movementType"] == "REL")
    reply = await fakes.get(
        "prison-api", "/api/movements", params={"movementDate": released["movementDate"]}
    )
    movements = reply.json()
    assert released in movements
    assert all(m["movementDate"] == released["movementDate"] for m in movements)
    assert released["movementTime"].count(":") == 2
    dt.datetime.fromisoformat(released["createDateTime"])
    for params in ({}, {"movementDate": "31/03/2026"}):
        bad = await fakes.get("prison-api", "/api/movements", params=params)
        assert bad.status == 400
        assert set(bad.json()) == PRISON_API_ERROR_KEYS


async def test_movements_of_offenders(fakes: FakeClient) -> None:
    court = next(m for m in fakes.sandbox.data.movements() if m["movementType"] == "CRT")
    number = court["offenderNo"]
    path = "/api/movements/offenders"
    latest = (await fakes.post("prison-api", path, json=[number, "Z9999ZZ"])).json()
    assert [(m["movementType"], m["directionCode"]) for m in latest] == [("CRT", "IN")]
    both = await fakes.post(
        "prison-api", path, json=[number], params={"movementTypes": "CRT", "latestOnly": "false"}
    )
    assert [m["directionCode"] for m in both.json()] == ["OUT", "IN"]
    other_types = await fakes.post(
        "prison-api",
        path,
        json=[number],
        params=[("movementTypes", "ADM"), ("movementTypes", "REL")],
    )
    assert other_types.json() == []
    assert (await fakes.post("prison-api", path, json={"offenders": [number]})).status == 400


async def test_nomis_user_and_caseloads(fakes: FakeClient) -> None:
    data = fakes.sandbox.data
    user = (await fakes.get("nomis-user-roles", "/users/SPO_MULTI")).json()
    assert user["username"] == "SPO_MULTI"
    assert user["active"] is True
    assert user["activeCaseloadId"] == data.prison_codes[0]
    assert user["dpsRoleCodes"] == ["ALLOC_MGR"]
    assert isinstance(user["staffId"], int)
    caseloads = (await fakes.get("nomis-user-roles", "/users/spo_multi/caseloads")).json()
    assert [c["id"] for c in caseloads["caseloads"]] == list(data.prison_codes)
    assert caseloads["caseloads"][0] == {"id": "LEI", "name": "HMP Leeds", "function": "GENERAL"}
    assert caseloads["activeCaseload"] == {"id": "LEI", "name": "HMP Leeds"}
    missing = await fakes.get("nomis-user-roles", "/users/NOBODY")
    assert missing.status == 404
    assert missing.json()["status"] == 404


async def test_nomis_staff_account(fakes: FakeClient) -> None:
    data = fakes.sandbox.data
    row = data.poms("BXI")[0]
    account = (await fakes.get("nomis-user-roles", f"/users/staff/{row['staffId']}")).json()
    assert account["staffId"] == row["staffId"]
    general = account["generalAccount"]
    user = data.user_for_staff(row["staffId"])
    assert user is not None
    assert general["username"] == user.username
    assert [c["id"] for c in general["caseloads"]] == list(user.caseloads)
    assert general["activeCaseload"]["id"] == user.active_caseload
    nobody = await fakes.get("nomis-user-roles", "/users/staff/1")
    assert nobody.status == 404
    officer = next(s for s in data.non_pom_staff() if data.user_for_staff(s["staffId"]) is None)
    plain = (await fakes.get("nomis-user-roles", f"/users/staff/{officer['staffId']}")).json()
    assert "generalAccount" not in plain
    assert plain["status"] == "ACTIVE"
