"""Queries end to end: joined data, paging, filters, partial owned data, bad arguments."""

from __future__ import annotations

from allocation_api.rules.eligibility import in_prison_list, is_omic_eligible
from allocation_api.upstream.models import Prisoner
from tests.conftest import RunningApi
from tests.e2e.api.helpers import allocate, ready_prisoner_and_pom

PAGE = """query Page($code: String!, $first: Int, $after: String, $filter: PrisonerFilter) {
  prison(code: $code) {
    code name
    prisoners(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { offenderNo firstName lastName prisonId legalStatus responsibility
              caseInformation { tier }
              allocation { primaryPom { staffId firstName lastName } } }
    }
  }
}"""


def expected_roster(api: RunningApi, prison: str) -> list[str]:
    """The roster the rules say a prison has, computed from the sandbox's own data."""
    today = api.sandbox.data.today
    records = [Prisoner.model_validate(p) for p in api.sandbox.data.prisoners(prison)]
    eligible = [p for p in records if in_prison_list(p) and is_omic_eligible(p, today)]
    eligible.sort(
        key=lambda p: ((p.lastName or "").upper(), (p.firstName or "").upper(), p.prisonerNumber)
    )
    return [p.prisonerNumber for p in eligible]


async def test_first_page_joins_allocations_and_pom_names(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api)
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    body = await api.gql(PAGE, {"code": "LEI", "first": 50})
    assert "errors" not in body, body
    prison = body["data"]["prison"]
    assert prison["name"] == "Leeds (HMP)" or "Leeds" in prison["name"]
    roster = expected_roster(api, "LEI")
    page = prison["prisoners"]
    assert page["totalCount"] == len(roster)
    assert [n["offenderNo"] for n in page["nodes"]] == roster[:50]
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["hasPreviousPage"] is False
    assert all(n["prisonId"] == "LEI" for n in page["nodes"])
    assert {n["legalStatus"] for n in page["nodes"]} <= {
        "SENTENCED",
        "INDETERMINATE_SENTENCE",
        "RECALL",
        "IMMIGRATION_DETAINEE",
    }
    if no in roster[:50]:
        node = next(n for n in page["nodes"] if n["offenderNo"] == no)
        assert node["allocation"]["primaryPom"]["lastName"] == pom["lastName"]
    # The second page follows on from the first.
    second = await api.gql(
        PAGE, {"code": "LEI", "first": 50, "after": page["pageInfo"]["endCursor"]}
    )
    nodes = second["data"]["prison"]["prisoners"]["nodes"]
    assert [n["offenderNo"] for n in nodes] == roster[50:100]


async def test_filters_partition_the_roster_and_match_the_summary(api: RunningApi) -> None:
    body = await api.gql(
        """{ prison(code: "LEI") { summary { total allocated unallocated missingCaseInformation }
             all: prisoners(first: 100) { totalCount }
             allocated: prisoners(first: 100, filter: ALLOCATED) { totalCount nodes { allocation { primaryPomStaffId } } }
             unallocated: prisoners(first: 100, filter: UNALLOCATED) { totalCount nodes { caseInformation { tier } allocation { primaryPomStaffId } } }
             missing: prisoners(first: 100, filter: MISSING_CASE_INFORMATION) { totalCount nodes { caseInformation { tier } } } } }"""
    )
    assert "errors" not in body, body
    prison = body["data"]["prison"]
    summary = prison["summary"]
    assert summary["total"] == prison["all"]["totalCount"]
    assert summary["allocated"] == prison["allocated"]["totalCount"]
    assert summary["unallocated"] == prison["unallocated"]["totalCount"]
    assert summary["missingCaseInformation"] == prison["missing"]["totalCount"]
    assert (
        summary["allocated"] + summary["unallocated"] + summary["missingCaseInformation"]
        == summary["total"]
    )
    assert all(n["allocation"]["primaryPomStaffId"] for n in prison["allocated"]["nodes"])
    assert all(n["caseInformation"]["tier"] for n in prison["unallocated"]["nodes"])
    assert all(
        n["caseInformation"] is None or n["caseInformation"]["tier"] is None
        for n in prison["missing"]["nodes"]
    )


async def test_pom_and_caseload(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api, "MDI")
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    body = await api.gql(
        """query($id: Int!) { pom(staffId: $id, prisonCode: "MDI") {
             staffId firstName lastName pomType status workingPattern
             caseload(first: 50) { totalCount nodes { offenderNo prisoner { lastName sentence { releaseDate } } } }
             caseloadCounts { primary coworking total } } }""",
        {"id": pom["staffId"]},
    )
    assert "errors" not in body, body
    found = body["data"]["pom"]
    assert found["lastName"] == pom["lastName"]
    assert found["status"] == "ACTIVE"
    assert 0.1 <= found["workingPattern"] <= 1.0
    assert no in [n["offenderNo"] for n in found["caseload"]["nodes"]]
    assert found["caseloadCounts"]["primary"] >= 1
    assert found["caseloadCounts"]["total"] == found["caseload"]["totalCount"]


async def test_unknowns_are_null_and_malformed_are_errors(api: RunningApi) -> None:
    body = await api.gql(
        """{ nope: prison(code: "ZZZ") { name }
             ghost: prisoner(offenderNo: "Z9999ZZ") { offenderNo }
             stranger: pom(staffId: 1, prisonCode: "LEI") { staffId } }"""
    )
    assert body["data"] == {"nope": None, "ghost": None, "stranger": None}
    bad = await api.gql('{ prisoner(offenderNo: "123") { offenderNo } }')
    assert bad["data"] == {"prisoner": None}
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_OFFENDER_NO"
    assert bad["errors"][0]["path"] == ["prisoner"]
    cursor = await api.gql('{ prison(code: "LEI") { prisoners(after: "garbage") { totalCount } } }')
    assert cursor["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
