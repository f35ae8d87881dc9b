"""Helpers for API tests: pick sandbox prisoners and POMs through the API itself."""

from __future__ import annotations

from typing import Any

from tests.conftest import RunningApi

ROSTER = """query Roster($code: String!, $n: Int!) { prison(code: $code) {
  prisoners(first: $n) { nodes { offenderNo legalStatus caseInformation { tier } allocation { version } } }
  poms { staffId pomType status firstName lastName }
} }"""

_used: set[str] = set()


async def roster(api: RunningApi, prison: str = "LEI") -> dict[str, Any]:
    body = await api.gql(ROSTER, {"code": prison, "n": 100})
    assert "errors" not in body, body
    return body["data"]["prison"]  # type: ignore[no-any-return]


async def fresh_prisoner(api: RunningApi, prison: str = "LEI") -> str:
    """An in-scope prisoner no other test has touched (never allocated, no case info)."""
    data = await roster(api, prison)
    for node in data["prisoners"]["nodes"]:
        no = node["offenderNo"]
        if no not in _used and node["allocation"] is None and node["caseInformation"] is None:
            _used.add(no)
            return str(no)
    raise AssertionError(f"no fresh prisoner left at {prison}")


async def set_tier(
    api: RunningApi, offender_no: str, tier: str = "C", **extra: Any
) -> dict[str, Any]:
    body = await api.gql(
        """mutation($input: CaseInformationInput!) { updateCaseInformation(input: $input) {
             __typename ... on CaseInformation { tier version } ... on Error { code message } } }""",
        {
            "input": {
                "offenderNo": offender_no,
                "tier": tier,
                "probationService": "ENGLAND",
                **extra,
            }
        },
    )
    assert "errors" not in body, body
    result = body["data"]["updateCaseInformation"]
    assert result["__typename"] == "CaseInformation", result
    return result  # type: ignore[no-any-return]


async def recommended(api: RunningApi, offender_no: str) -> str:
    body = await api.gql(
        "query($no: String!) { prisoner(offenderNo: $no) { recommendedPomType } }",
        {"no": offender_no},
    )
    return str(body["data"]["prisoner"]["recommendedPomType"])


async def active_poms(
    api: RunningApi, prison: str = "LEI", pom_type: str | None = None
) -> list[dict[str, Any]]:
    data = await roster(api, prison)
    poms = [p for p in data["poms"] if p["status"] == "ACTIVE"]
    return [p for p in poms if pom_type is None or p["pomType"] == pom_type]


ALLOCATE = """mutation($input: AllocatePrimaryPomInput!) { allocatePrimaryPom(input: $input) {
  __typename
  ... on Allocation { offenderNo prisonCode primaryPomStaffId primaryPomName secondaryPomStaffId
                      version overrideReasons recommendedPomType createdBy
                      history { event trigger primaryPomStaffId secondaryPomStaffId allocationVersion createdBy } }
  ... on Error { code message }
  ... on ValidationError { field }
  ... on ConflictError { currentVersion }
} }"""

ALLOCATE_SECONDARY = ALLOCATE.replace("allocatePrimaryPom", "allocateSecondaryPom").replace(
    "AllocatePrimaryPomInput", "AllocateSecondaryPomInput"
)
DEALLOCATE_PRIMARY = ALLOCATE.replace("allocatePrimaryPom", "deallocatePrimaryPom").replace(
    "AllocatePrimaryPomInput", "DeallocateInput"
)
DEALLOCATE_SECONDARY = ALLOCATE.replace("allocatePrimaryPom", "deallocateSecondaryPom").replace(
    "AllocatePrimaryPomInput", "DeallocateInput"
)


async def allocate(
    api: RunningApi, offender_no: str, staff_id: int, **extra: Any
) -> dict[str, Any]:
    body = await api.gql(
        ALLOCATE, {"input": {"offenderNo": offender_no, "staffId": staff_id, **extra}}
    )
    assert "errors" not in body, body
    return body["data"]["allocatePrimaryPom"]  # type: ignore[no-any-return]


async def ready_prisoner_and_pom(
    api: RunningApi, prison: str = "LEI"
) -> tuple[str, dict[str, Any]]:
    """A fresh prisoner with a tier, and an active POM of the recommended type."""
    no = await fresh_prisoner(api, prison)
    await set_tier(api, no, "C")
    wanted = await recommended(api, no)
    poms = await active_poms(api, prison, wanted)
    assert poms, f"no active {wanted} POM at {prison}"
    return no, poms[0]


async def co_work(api: RunningApi, offender_no: str, primary_staff_id: int) -> int:
    """Give an allocated prisoner a co-working POM: the first other POM NOMIS lets us use."""
    for candidate in await active_poms(api):
        if candidate["staffId"] == primary_staff_id:
            continue
        body = await api.gql(
            ALLOCATE_SECONDARY,
            {"input": {"offenderNo": offender_no, "staffId": candidate["staffId"]}},
        )
        if body["data"]["allocateSecondaryPom"]["__typename"] == "Allocation":
            return int(candidate["staffId"])
    raise AssertionError(f"no POM could co-work {offender_no}")
