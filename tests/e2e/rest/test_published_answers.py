"""The stored-handover and subject access endpoints answer as the OpenAPI document says.

`contract.get` validates each JSON answer against the operation's response
schema for its status in the served `/v3/api-docs`; the bodyless and text
answers are checked against the document's declared statuses and media type.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import RunningApi
from tests.e2e.api.helpers import allocate, fresh_prisoner, ready_prisoner_and_pom
from tests.e2e.rest import contract

SAR = "ROLE_SAR_DATA_ACCESS"


async def _allocated(api: RunningApi) -> str:
    no, pom = await ready_prisoner_and_pom(api)
    await allocate(api, no, pom["staffId"])
    return no


async def test_handover_answers_match_the_document(api: RunningApi) -> None:
    no = await _allocated(api)
    reader = await contract.client_token(api)
    assert (await contract.get(api, f"/api/handovers/{no}", token=reader)).status == 200
    never_stored = await fresh_prisoner(api, "LEI")
    assert (await contract.get(api, f"/api/handovers/{never_stored}", token=reader)).status == 404
    assert (await contract.get(api, "/api/handovers/nonsense", token=reader)).status == 400
    assert (await contract.get(api, f"/api/handovers/{no}")).status == 401
    wrong_role = await contract.client_token(api, SAR)
    assert (await contract.get(api, f"/api/handovers/{no}", token=wrong_role)).status == 403


async def test_subject_access_answers_match_the_document(api: RunningApi) -> None:
    no = await _allocated(api)
    token = await contract.client_token(api, SAR)
    found = await contract.get(api, f"/subject-access-request?prn={no}", token=token)
    assert found.status == 200
    assert found.body["content"]["nomsNumber"] == no
    cases: list[tuple[str, str | None, int]] = [
        (f"?prn={no}&crn=X123456", token, 400),
        ("?crn=X123456", token, 209),
        (f"?prn={no}&fromDate=yesterday", token, 210),
        (f"?prn={no}", None, 401),
        (f"?prn={no}", await contract.client_token(api), 403),
    ]
    for query, caller, status in cases:
        answer = await contract.get(api, f"/subject-access-request{query}", token=caller)
        assert answer.status == status, (query, answer.body)


async def test_bodyless_and_text_answers_are_declared(api: RunningApi) -> None:
    document: dict[str, Any] = await contract.document(api)
    token = await contract.client_token(api, SAR)
    unknown = "Z9999ZZ"
    async with api.http.get(
        f"{api.url}/subject-access-request?prn={unknown}",
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status == 204
        assert await response.read() == b""
    assert "204" in document["paths"]["/subject-access-request"]["get"]["responses"]
    async with api.http.get(
        f"{api.url}/subject-access-request/template",
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert (await response.text()).strip()
    template = document["paths"]["/subject-access-request/template"]["get"]["responses"]["200"]
    assert "text/plain" in template["content"]
