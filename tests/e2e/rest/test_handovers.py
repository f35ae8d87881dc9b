"""`GET /api/handovers/{nomsNumber}`: the stored handover, as other services read it
(docs/DOMAIN.md, "What other services already depend on")."""

from __future__ import annotations

from typing import Any

import orjson

from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.store.handovers import SessionReader
from tests.commands.test_handover_recalculation import DETERMINATE_WITH_PED
from tests.conftest import RunningApi
from tests.e2e.api.helpers import allocate, fresh_prisoner, ready_prisoner_and_pom, set_tier

READER_ROLES = ("ROLE_VIEW_POM_ALLOCATIONS",)


async def get(
    api: RunningApi, path: str, token: str | None, method: str = "GET"
) -> tuple[int, Any, dict[str, str]]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with api.http.request(method, f"{api.url}{path}", headers=headers) as response:
        raw = await response.read()
        body = orjson.loads(raw) if raw else None
        return response.status, body, dict(response.headers)


async def reader(api: RunningApi) -> str:
    return await api.token(None, roles=READER_ROLES)


async def test_pom_responsible_case_names_the_allocated_pom(api: RunningApi) -> None:
    no = await fresh_prisoner(api, "LEI")
    api.sandbox.data.update_prisoner(no, **DETERMINATE_WITH_PED)
    await set_tier(api, no, "C", comName="Jo Bloggs", comEmail="jo.bloggs@example.org")
    status, body, headers = await get(api, f"/api/handovers/{no}", await reader(api))
    assert status == 200
    assert body == {
        "nomsNumber": no,
        "handoverDate": "2029-06-15",
        "handoverStartDate": "2029-06-15",
        "responsibility": "POM",
        "responsiblePomName": None,
        "responsiblePomNomisId": None,
    }
    # A stored read: one SQL statement, no upstream call.
    assert headers["x-calls"] == "upstream=0; store=1"

    poms = [p for p in (await _poms(api)) if p["pomType"] == "PRISON"]
    pom = poms[0]
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    status, body, _ = await get(api, f"/api/handovers/{no}", await reader(api))
    assert status == 200
    assert body["responsiblePomNomisId"] == pom["staffId"]
    assert body["responsiblePomName"] == f"{pom['firstName']} {pom['lastName']}"
    assert "responsibleComName" not in body


async def _poms(api: RunningApi) -> list[dict[str, Any]]:
    from tests.e2e.api.helpers import active_poms

    return await active_poms(api, "LEI")


async def test_com_responsible_case_names_the_com(api: RunningApi) -> None:
    no = await fresh_prisoner(api, "LEI")
    api.sandbox.data.update_prisoner(no, **{**DETERMINATE_WITH_PED, "recall": True})
    await set_tier(api, no, "C", comName="Jo Bloggs", comEmail="jo.bloggs@example.org")
    status, body, _ = await get(api, f"/api/handovers/{no}", await reader(api))
    assert status == 200
    assert body == {
        "nomsNumber": no,
        "handoverDate": None,
        "handoverStartDate": None,
        "responsibility": "COM",
        "responsibleComName": "Jo Bloggs",
        "responsibleComEmail": "jo.bloggs@example.org",
    }


async def test_refusals(api: RunningApi) -> None:
    token = await reader(api)
    no = await fresh_prisoner(api, "LEI")
    # Nothing stored yet: 404 with the contract's body, after one SQL read.
    status, body, headers = await get(api, f"/api/handovers/{no}", token)
    assert (status, body) == (404, {"status": "error", "message": "Not found"})
    assert headers["x-calls"] == "upstream=0; store=1"

    status, body, headers = await get(api, f"/api/handovers/{no}", None)
    assert status == 401
    assert body["status"] == "error"
    assert body["message"].startswith("missing Authorization header")
    assert headers["x-calls"] == "upstream=0; store=0"
    status, body, _ = await get(api, f"/api/handovers/{no}", "not-a-token")
    assert status == 401
    assert set(body) == {"status", "message"}

    # Wrong role, or the role on a user's token (client grants need a client token).
    spo = await api.token()
    person = await api.token("HANDOVER_READER", roles=READER_ROLES)
    other_client = await api.token(None, roles=("ROLE_ALLOC_MGR",))
    for refused in (spo, person, other_client):
        status, body, headers = await get(api, f"/api/handovers/{no}", refused)
        assert status == 403
        assert body == {
            "status": "error",
            "message": "Forbidden: needs a client token with ROLE_VIEW_POM_ALLOCATIONS",
        }
        assert headers["x-calls"] == "upstream=0; store=0"

    for bad in ("A1234B", "a1234bc", "A1234BCD", "12345AB", "A1234BC%20"):
        status, body, headers = await get(api, f"/api/handovers/{bad}", token)
        assert status == 400, bad
        assert body == {
            "status": "error",
            "message": "nomsNumber must be a prisoner number: a letter, 4 digits, 2 letters"
            " (A1234BC)",
        }
        assert headers["x-calls"] == "upstream=0; store=0"

    for method in ("POST", "PUT", "DELETE"):
        status, body, headers = await get(api, f"/api/handovers/{no}", token, method)
        assert status == 405
        assert body == {"status": "error", "message": "Method not allowed: use GET"}
        assert headers["Allow"] == "GET"


async def test_store_down_is_503_json(api: RunningApi) -> None:
    """The read pool refuses (as when Postgres is gone): a typed 503, never a 500."""
    services = api.app.state.services
    token = await reader(api)
    no, _ = await ready_prisoner_and_pom(api, "LEI")
    original = services.reads

    class Down:
        async def fetch(self, sql: str, *args: Any) -> Any:
            from allocation_api.errors import StoreUnavailable

            raise StoreUnavailable("the database did not answer")

    services.reads = Down()
    try:
        status, body, _ = await get(api, f"/api/handovers/{no}", token)
    finally:
        services.reads = original
    assert status == 503
    assert body["status"] == "error"
    assert body["message"].startswith("Service unavailable")
    # The stored row is still there once the store answers.
    status, _, _ = await get(api, f"/api/handovers/{no}", token)
    assert status == 200
    async with UnitOfWork(services.sessions).reading() as session:
        rows = await SessionReader(session).fetch(
            "SELECT count(*) FROM calculated_handover WHERE offender_no = $1", no
        )
    assert rows[0][0] == 1
