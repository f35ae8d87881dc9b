"""N+1 is pinned: upstream requests and SQL statements do not grow with page size."""

from __future__ import annotations

from tests.api.helpers import active_poms, allocate, ready_prisoner_and_pom
from tests.conftest import RunningApi

PRISON_PAGE = """query($n: Int!) { prison(code: "LEI") { prisoners(first: $n) { nodes {
  offenderNo firstName lastName responsibility
  caseInformation { tier }
  allocation { primaryPom { firstName lastName } }
} } } }"""

CASELOAD = """query($id: Int!, $n: Int!) { pom(staffId: $id, prisonCode: "MDI") {
  caseload(first: $n) { nodes { offenderNo
    prisoner { firstName lastName sentence { releaseDate } }
    secondaryPom { firstName lastName } } } } }"""


async def calls_of(api: RunningApi, query: str, variables: dict[str, int]) -> dict[str, int]:
    body = await api.gql(query, variables)
    assert "errors" not in body, body
    return body["extensions"]["calls"]  # type: ignore[no-any-return]


async def test_prison_page_cost_is_constant(api: RunningApi) -> None:
    await calls_of(api, PRISON_PAGE, {"n": 1})  # warm the token and cross-request caches
    ten = await calls_of(api, PRISON_PAGE, {"n": 10})
    fifty = await calls_of(api, PRISON_PAGE, {"n": 50})
    assert ten == fifty, (ten, fifty)


async def test_caseload_cost_is_constant(api: RunningApi) -> None:
    poms = await active_poms(api, "MDI")
    pom = poms[0]
    # Give this POM enough cases for both sizes.
    made = 0
    while made < 6:
        no, _ = await ready_prisoner_and_pom(api, "MDI")
        result = await allocate(api, no, pom["staffId"], overrideReasons=["NO_STAFF"])
        if result["__typename"] != "Allocation":
            result = await allocate(api, no, pom["staffId"])
        assert result["__typename"] == "Allocation", result
        made += 1
    await calls_of(api, CASELOAD, {"id": pom["staffId"], "n": 1})
    five = await calls_of(api, CASELOAD, {"id": pom["staffId"], "n": 5})
    six = await calls_of(api, CASELOAD, {"id": pom["staffId"], "n": 6})
    assert five == six, (five, six)
