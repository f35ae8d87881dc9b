"""The merged case history: allocation events and case events, newest first, paged by
key (two SQL statements a page, no repeat or gap when entries are added meanwhile)."""

from __future__ import annotations

import json
from typing import Any

from tests.commands.test_case_facts import RECORD, SET
from tests.conftest import RunningApi
from tests.e2e.api.helpers import DEALLOCATE_PRIMARY, allocate, ready_prisoner_and_pom

HISTORY = """query($no: String!, $first: Int, $after: String) { prisoner(offenderNo: $no) {
  caseHistory(first: $first, after: $after) {
    nodes { at kind source trigger prisonCode byUsername detail }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }"""

WITHOUT = """query($no: String!) { prisoner(offenderNo: $no) { offenderNo } }"""


async def _history(api: RunningApi, no: str, **variables: Any) -> dict[str, Any]:
    body = await api.gql(HISTORY, {"no": no, **variables})
    assert "errors" not in body, body
    return body["data"]["prisoner"]["caseHistory"]  # type: ignore[no-any-return]


async def _ok(api: RunningApi, document: str, variables: dict[str, Any], field: str) -> None:
    body = await api.gql(document, variables)
    assert "errors" not in body, body
    assert body["data"][field]["__typename"] not in {"ValidationError", "ConflictError"}, body


async def _a_case_with_history(api: RunningApi) -> tuple[str, dict[str, Any]]:
    no, pom = await ready_prisoner_and_pom(api)
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    await _ok(
        api,
        SET,
        {"input": {"offenderNo": no, "responsibility": "PROBATION", "reason": "PRISONER_RECALLED"}},
        "setResponsibilityOverride",
    )
    await _ok(
        api,
        RECORD,
        {"input": {"offenderNo": no, "targetHearingDate": "2031-03-01"}},
        "recordParoleReview",
    )
    body = await api.gql(DEALLOCATE_PRIMARY, {"input": {"offenderNo": no}})
    assert body["data"]["deallocatePrimaryPom"]["__typename"] == "Allocation", body
    return no, pom


async def test_history_merges_both_logs_newest_first(api: RunningApi) -> None:
    no, pom = await _a_case_with_history(api)
    page = await _history(api, no)
    kinds = [(n["source"], n["kind"]) for n in page["nodes"]]
    assert kinds == [
        ("ALLOCATION", "DEALLOCATE_PRIMARY_POM"),
        ("USER", "PAROLE_REVIEW_RECORDED"),
        ("USER", "OVERRIDE_SET"),
        ("ALLOCATION", "ALLOCATE_PRIMARY_POM"),
        ("USER", "CASE_INFORMATION_SET"),
    ]
    assert [n["at"] for n in page["nodes"]] == sorted(
        (n["at"] for n in page["nodes"]), reverse=True
    )
    allocated = page["nodes"][3]
    assert allocated["trigger"] == "USER"
    assert json.loads(allocated["detail"])["primaryPomStaffId"] == pom["staffId"]
    override = json.loads(page["nodes"][2]["detail"])
    assert override["responsibility"] == "PROBATION"
    assert page["nodes"][2]["trigger"] is None
    case_information = json.loads(page["nodes"][4]["detail"])
    assert case_information["tier"] is not None
    assert case_information["version"] == 1
    assert page["pageInfo"]["hasNextPage"] is False
    assert page["pageInfo"]["hasPreviousPage"] is False


async def test_pages_by_key_without_repeats_when_entries_are_added(api: RunningApi) -> None:
    no, pom = await _a_case_with_history(api)
    everything = [n["kind"] for n in (await _history(api, no))["nodes"]]
    first = await _history(api, no, first=2)
    assert first["pageInfo"]["hasNextPage"] is True
    # A new entry above the first page does not shift what follows it.
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    second = await _history(api, no, first=10, after=first["pageInfo"]["endCursor"])
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert second["pageInfo"]["hasNextPage"] is False
    assert [n["kind"] for n in first["nodes"] + second["nodes"]] == everything
    newest = (await _history(api, no, first=1))["nodes"][0]
    assert (newest["source"], newest["kind"]) == ("ALLOCATION", "ALLOCATE_PRIMARY_POM")


async def test_a_page_costs_two_statements_and_no_upstream_call(api: RunningApi) -> None:
    no, _ = await _a_case_with_history(api)
    await api.gql(HISTORY, {"no": no, "first": 1})  # caches warm
    base = (await api.gql(WITHOUT, {"no": no}))["extensions"]["calls"]
    for first in (1, 50):
        calls = (await api.gql(HISTORY, {"no": no, "first": first}))["extensions"]["calls"]
        assert calls == {"upstream": base["upstream"], "store": base["store"] + 2}


async def test_bad_cursors_and_page_sizes_are_typed_errors(api: RunningApi) -> None:
    no, _ = await _a_case_with_history(api)
    for after in ("nope", "aGlzdDp4fDF8Mg==", "x" * 500, "cG9zOjE="):
        body = await api.gql(HISTORY, {"no": no, "after": after})
        assert body["data"]["prisoner"] is None or body["data"]["prisoner"]["caseHistory"] is None
        assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR", (after, body)
    # An over-large page is refused before anything runs, like every page size.
    status, body = await api.post(
        {"query": HISTORY, "variables": {"no": no, "first": 10_000}}, token=await api.token()
    )
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "PAGE_SIZE_TOO_LARGE", body
