"""Roles x operations over HTTP, each caller a real signed token.

The world (set up once for the module, by an SPO, on fresh LEI prisoners):
- X: primary POM P1, co-working POM P2
- Y: primary POM P2, co-working POM P1
- Z: primary POM P2 only
P1 and P2 are sandbox POM users (NOMIS accounts linked to their staff ids,
caseload LEI only), so a POM token for P1 is "a POM reading their cases".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from allocation_api.sandbox import Sandbox
from tests.conftest import RunningApi
from tests.e2e.access.helpers import assert_forbidden_at, error_at
from tests.e2e.api.helpers import (
    ALLOCATE,
    ALLOCATE_SECONDARY,
    DEALLOCATE_PRIMARY,
    DEALLOCATE_SECONDARY,
    active_poms,
    fresh_prisoner,
    recommended,
    set_tier,
)

PRISON = "LEI"

READ_PRISON = """{ prison(code: "LEI") { name summary { total }
  prisoners(first: 5) { totalCount nodes { offenderNo } } poms { staffId } } }"""
READ_PRISONER = """query($no: String!) { prisoner(offenderNo: $no) {
  offenderNo firstName prisonId caseInformation { tier }
  allocation { version primaryPomStaffId secondaryPomStaffId
               primaryPom { staffId firstName } secondaryPom { staffId }
               history { event createdBy createdByName } } } }"""
READ_POM = """query($id: Int!, $prison: String!) { pom(staffId: $id, prisonCode: $prison) {
  staffId firstName status caseload(first: 100) { totalCount nodes { offenderNo } }
  caseloadCounts { total } } }"""

UPDATE_CASE_INFORMATION = """mutation($input: CaseInformationInput!) {
  updateCaseInformation(input: $input) {
    __typename ... on CaseInformation { tier version } ... on Error { code message } } }"""
UPDATE_POM_DETAILS = """mutation($input: PomDetailsInput!) { updatePomDetails(input: $input) {
  __typename ... on Pom { staffId status workingPattern } ... on Error { code message } } }"""

MUTATION_FIELDS = (
    "updateCaseInformation",
    "allocatePrimaryPom",
    "allocateSecondaryPom",
    "deallocateSecondaryPom",
    "deallocatePrimaryPom",
    "updatePomDetails",
)


@dataclass(frozen=True)
class World:
    x: str
    y: str
    z: str
    p1: int
    p2: int
    p1_token: str
    p2_token: str
    other_pom: int
    """An active LEI POM who is neither P1 nor P2."""


def _mutations(
    offender_no: str, staff_id: int, second_staff_id: int, pom_staff_id: int
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every mutation, as (document, variables), aimed at one prisoner and POMs."""
    return {
        "updateCaseInformation": (
            UPDATE_CASE_INFORMATION,
            {"input": {"offenderNo": offender_no, "tier": "B", "probationService": "ENGLAND"}},
        ),
        "allocatePrimaryPom": (
            ALLOCATE,
            {"input": {"offenderNo": offender_no, "staffId": staff_id}},
        ),
        "allocateSecondaryPom": (
            ALLOCATE_SECONDARY,
            {"input": {"offenderNo": offender_no, "staffId": second_staff_id}},
        ),
        "deallocateSecondaryPom": (DEALLOCATE_SECONDARY, {"input": {"offenderNo": offender_no}}),
        "deallocatePrimaryPom": (DEALLOCATE_PRIMARY, {"input": {"offenderNo": offender_no}}),
        "updatePomDetails": (
            UPDATE_POM_DETAILS,
            {"input": {"staffId": pom_staff_id, "prisonCode": PRISON, "workingPattern": 0.3}},
        ),
    }


async def _allocate_as_spo(
    api: RunningApi, offender_no: str, primary: int, secondary: int | None
) -> None:
    wanted = await recommended(api, offender_no)
    poms = {p["staffId"]: p for p in await active_poms(api, PRISON)}
    extra: dict[str, Any] = {}
    if poms[primary]["pomType"] != wanted:
        extra["overrideReasons"] = ["NO_STAFF"]
    body = await api.gql(
        ALLOCATE, {"input": {"offenderNo": offender_no, "staffId": primary, **extra}}
    )
    assert body["data"]["allocatePrimaryPom"]["__typename"] == "Allocation", body
    if secondary is not None:
        body = await api.gql(
            ALLOCATE_SECONDARY, {"input": {"offenderNo": offender_no, "staffId": secondary}}
        )
        assert body["data"]["allocateSecondaryPom"]["__typename"] == "Allocation", body


@pytest.fixture(scope="module")
async def world(api: RunningApi, sandbox: Sandbox) -> World:
    # POM users whose only caseload is LEI, taken from the end of the list so
    # that tests picking "the first POM of a type" do not share them.
    candidates = []
    for pom in reversed(await active_poms(api, PRISON)):
        user = sandbox.data.user_for_staff(pom["staffId"])
        if user is not None and user.caseloads == (PRISON,):
            candidates.append((pom["staffId"], user.username))
    (p1, p1_user), (p2, p2_user), (other, _) = candidates[:3]
    x, y, z = [await fresh_prisoner(api, PRISON) for _ in range(3)]
    for no in (x, y, z):
        await set_tier(api, no, "C")
    await _allocate_as_spo(api, x, p1, p2)
    await _allocate_as_spo(api, y, p2, p1)
    await _allocate_as_spo(api, z, p2, None)
    pom_role = ["ROLE_ALLOC_CASE_MGR"]
    return World(
        x=x,
        y=y,
        z=z,
        p1=p1,
        p2=p2,
        p1_token=sandbox.mint_token(username=p1_user, roles=pom_role),
        p2_token=sandbox.mint_token(username=p2_user, roles=pom_role),
        other_pom=other,
    )


async def _snapshot(api: RunningApi, world: World) -> dict[str, Any]:
    """What the refused mutations must not change (read as the default SPO)."""
    prisoner = await api.gql(READ_PRISONER, {"no": world.x})
    pom = await api.gql(
        'query($id: Int!) { pom(staffId: $id, prisonCode: "LEI") { status workingPattern } }',
        {"id": world.p1},
    )
    return {"prisoner": prisoner["data"], "pom": pom["data"]}


async def _assert_no_mutation_allowed(
    api: RunningApi, world: World, token: str, *, as_payload: str | None
) -> None:
    """Every mutation is refused: FORBIDDEN at the field (as_payload None) or a payload code."""
    before = await _snapshot(api, world)
    for field, (document, variables) in _mutations(
        world.x, world.p2, world.other_pom, world.p1
    ).items():
        body = await api.gql(document, variables, token=token)
        if as_payload is None:
            assert body["data"] is None, (field, body)
            assert_forbidden_at(body, [field])
        else:
            assert "errors" not in body, (field, body)
            payload = body["data"][field]
            assert (payload["__typename"], payload["code"]) == ("NotAllowedError", as_payload), (
                field,
                payload,
            )
    assert await _snapshot(api, world) == before, "a refused mutation changed something"


# --- SPO (ROLE_ALLOC_MGR) ------------------------------------------------------------


async def test_spo_with_the_prison_reads_everything(api: RunningApi, world: World) -> None:
    token = await api.token("ACCESS_SPO_LEI", ("ROLE_ALLOC_MGR",), (PRISON,))
    prison = await api.gql(READ_PRISON, token=token)
    assert "errors" not in prison, prison
    assert prison["data"]["prison"]["prisoners"]["totalCount"] > 0
    assert {world.p1, world.p2} <= {p["staffId"] for p in prison["data"]["prison"]["poms"]}
    prisoner = await api.gql(READ_PRISONER, {"no": world.x}, token=token)
    assert "errors" not in prisoner, prisoner
    allocation = prisoner["data"]["prisoner"]["allocation"]
    assert (allocation["primaryPomStaffId"], allocation["secondaryPomStaffId"]) == (
        world.p1,
        world.p2,
    )
    for staff_id in (world.p1, world.p2):
        pom = await api.gql(READ_POM, {"id": staff_id, "prison": PRISON}, token=token)
        assert "errors" not in pom, pom
        cases = {n["offenderNo"] for n in pom["data"]["pom"]["caseload"]["nodes"]}
        assert {world.x, world.y} <= cases


async def test_spo_with_the_prison_runs_every_mutation_as_themself(
    api: RunningApi, sandbox: Sandbox, world: World
) -> None:
    """Each mutation succeeds; history records the token's user_name and `name` claim."""
    username, claimed_name = "ACCESS_SPO_NAMED", "Token Claim-Name"
    # NOMIS knows this user under another name: the token's claim must win.
    sandbox.data.set_user(username, caseloads=[PRISON], first_name="Nomis", last_name="Record")
    token = sandbox.mint_token(username=username, roles=["ROLE_ALLOC_MGR"], name=claimed_name)
    no = await fresh_prisoner(api, PRISON)
    body = await api.gql(
        UPDATE_CASE_INFORMATION,
        {"input": {"offenderNo": no, "tier": "C", "probationService": "ENGLAND"}},
        token=token,
    )
    assert body["data"]["updateCaseInformation"]["__typename"] == "CaseInformation", body
    wanted = await recommended(api, no)
    primary = next(
        p["staffId"]
        for p in await active_poms(api, PRISON, wanted)
        if p["staffId"] not in (world.p1, world.p2)
    )
    results: dict[str, Any] = {}
    mutations = _mutations(no, primary, world.other_pom, world.other_pom)
    for field in MUTATION_FIELDS[1:]:
        document, variables = mutations[field]
        body = await api.gql(document, variables, token=token)
        assert "errors" not in body, (field, body)
        results[field] = body["data"][field]
        assert results[field]["__typename"] in ("Allocation", "Pom"), (field, body)
    assert results["updatePomDetails"]["workingPattern"] == 0.3
    assert results["allocatePrimaryPom"]["createdBy"] == username

    history = await api.gql(READ_PRISONER, {"no": no})
    events = history["data"]["prisoner"]["allocation"]["history"]
    assert [e["event"] for e in events] == [
        "ALLOCATE_PRIMARY_POM",
        "ALLOCATE_SECONDARY_POM",
        "DEALLOCATE_SECONDARY_POM",
        "DEALLOCATE_PRIMARY_POM",
    ]
    assert {(e["createdBy"], e["createdByName"]) for e in events} == {(username, claimed_name)}


async def test_no_input_field_sets_the_acting_user(
    api: RunningApi, sandbox: Sandbox, world: World
) -> None:
    before = await _snapshot(api, world)
    inputs = {"offenderNo": world.x, "staffId": world.other_pom}
    for extra in ({"createdBy": "SOMEONE_ELSE"}, {"createdByName": "Someone Else"}):
        # As a variable: coercion refuses the unknown field before execution.
        status, body = await api.post(
            {"query": ALLOCATE_SECONDARY, "variables": {"input": {**inputs, **extra}}},
            token=await api.token(),
        )
        assert status == 400, body
        assert "data" not in body
        (name,) = extra
        assert f"'{name}'" in body["errors"][0]["message"], body
        # Inline: validation refuses it.
        status, body = await api.post(
            {
                "query": f"""mutation {{ allocateSecondaryPom(input: {{offenderNo: "{world.x}",
                  staffId: {world.other_pom}, {name}: "X"}}) {{ __typename }} }}"""
            },
            token=await api.token(),
        )
        assert status == 400, body
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert await _snapshot(api, world) == before


async def test_spo_of_another_prison_sees_and_changes_nothing_here(
    api: RunningApi, world: World
) -> None:
    token = await api.token("ACCESS_SPO_MDI", ("ROLE_ALLOC_MGR",), ("MDI",))
    body = await api.gql(READ_PRISON, token=token)
    assert body["data"] == {"prison": None}
    assert_forbidden_at(body, ["prison"])
    body = await api.gql(READ_PRISONER, {"no": world.x}, token=token)
    assert body["data"] == {"prisoner": None}
    assert_forbidden_at(body, ["prisoner"])
    body = await api.gql(READ_POM, {"id": world.p1, "prison": PRISON}, token=token)
    assert_forbidden_at(body, ["pom"])
    # Their own prison still works (the refusals above are about LEI).
    body = await api.gql('{ prison(code: "MDI") { name } }', token=token)
    assert "errors" not in body, body
    await _assert_no_mutation_allowed(api, world, token, as_payload="FORBIDDEN_PRISON")


# --- POM (ROLE_ALLOC_CASE_MGR) ---------------------------------------------------------


async def test_pom_reads_own_caseload_and_its_prisoners(api: RunningApi, world: World) -> None:
    body = await api.gql(READ_POM, {"id": world.p1, "prison": PRISON}, token=world.p1_token)
    assert "errors" not in body, body
    pom = body["data"]["pom"]
    assert pom["staffId"] == world.p1
    cases = {n["offenderNo"] for n in pom["caseload"]["nodes"]}
    assert {world.x, world.y} <= cases  # primary and co-working
    assert world.z not in cases
    assert pom["caseloadCounts"]["total"] == pom["caseload"]["totalCount"]
    for no in (world.x, world.y):
        body = await api.gql(READ_PRISONER, {"no": no}, token=world.p1_token)
        assert "errors" not in body, body
        assert body["data"]["prisoner"]["offenderNo"] == no
    # Through the caseload, down to each prisoner.
    body = await api.gql(
        """query($id: Int!) { pom(staffId: $id, prisonCode: "LEI") { caseload(first: 100) {
             nodes { offenderNo prisoner { offenderNo firstName caseInformation { tier } } } } } }""",
        {"id": world.p1},
        token=world.p1_token,
    )
    assert "errors" not in body, body
    nodes = body["data"]["pom"]["caseload"]["nodes"]
    assert all(n["prisoner"]["offenderNo"] == n["offenderNo"] for n in nodes)


async def test_pom_may_not_list_a_prison(api: RunningApi, world: World) -> None:
    body = await api.gql(READ_PRISON, token=world.p1_token)
    assert body["data"] == {"prison": None}
    assert_forbidden_at(body, ["prison"])


async def test_pom_may_not_read_another_pom(api: RunningApi, world: World) -> None:
    body = await api.gql(READ_POM, {"id": world.p2, "prison": PRISON}, token=world.p1_token)
    assert body["data"] == {"pom": None}
    assert_forbidden_at(body, ["pom"])
    # Nor themself at a prison outside their caseloads.
    body = await api.gql(READ_POM, {"id": world.p1, "prison": "MDI"}, token=world.p1_token)
    assert_forbidden_at(body, ["pom"])


async def test_pom_may_not_read_a_prisoner_off_their_caseload(
    api: RunningApi, world: World
) -> None:
    body = await api.gql(READ_PRISONER, {"no": world.z}, token=world.p1_token)
    assert body["data"] == {"prisoner": None}
    assert_forbidden_at(body, ["prisoner"])
    # The co-worker can: the refusal is about P1, not about Z.
    body = await api.gql(READ_PRISONER, {"no": world.z}, token=world.p2_token)
    assert "errors" not in body, body


@pytest.mark.parametrize(
    ("case", "field"),
    [("x", "secondaryPom"), ("y", "primaryPom")],
    ids=["own case, co-worker's caseload", "co-working case, primary's caseload"],
)
async def test_pom_may_not_read_a_co_workers_caseload(
    api: RunningApi, world: World, case: str, field: str
) -> None:
    no = getattr(world, case)
    body = await api.gql(
        f"""query($no: String!) {{ prisoner(offenderNo: $no) {{ offenderNo allocation {{
              version {field} {{ staffId firstName caseload {{ totalCount nodes {{ offenderNo }} }} }}
            }} }} }}""",
        {"no": no},
        token=world.p1_token,
    )
    assert_forbidden_at(body, ["prisoner", "allocation", field, "caseload"])
    # The refusal is at that field only: the case itself still arrives.
    assert body["data"]["prisoner"]["offenderNo"] == no
    assert body["data"]["prisoner"]["allocation"]["version"] >= 1
    body = await api.gql(
        f"""query($no: String!) {{ prisoner(offenderNo: $no) {{ allocation {{
              {field} {{ caseloadCounts {{ total }} }} }} }} }}""",
        {"no": no},
        token=world.p1_token,
    )
    assert_forbidden_at(body, ["prisoner", "allocation", field, "caseloadCounts"])


async def test_pom_may_not_read_co_workers_caseload_through_own_caseload(
    api: RunningApi, world: World
) -> None:
    body = await api.gql(
        """query($id: Int!) { pom(staffId: $id, prisonCode: "LEI") { caseload(first: 100) {
             nodes { offenderNo primaryPomStaffId secondaryPomStaffId
                     primaryPom { caseloadCounts { total } }
                     secondaryPom { caseloadCounts { total } } } } } }""",
        {"id": world.p1},
        token=world.p1_token,
    )
    # Ask the uncovered question separately: which nodes are there, with no co-worker fields.
    listing = await api.gql(
        """query($id: Int!) { pom(staffId: $id, prisonCode: "LEI") { caseload(first: 100) {
             nodes { offenderNo primaryPomStaffId secondaryPomStaffId } } } }""",
        {"id": world.p1},
        token=world.p1_token,
    )
    nodes = listing["data"]["pom"]["caseload"]["nodes"]
    expected = [
        ["pom", "caseload", "nodes", i, role, "caseloadCounts"]
        for i, node in enumerate(nodes)
        for role, staff_id in (
            ("primaryPom", node["primaryPomStaffId"]),
            ("secondaryPom", node["secondaryPomStaffId"]),
        )
        if staff_id is not None and staff_id != world.p1
    ]
    x_index = next(i for i, n in enumerate(nodes) if n["offenderNo"] == world.x)
    y_index = next(i for i, n in enumerate(nodes) if n["offenderNo"] == world.y)
    assert ["pom", "caseload", "nodes", x_index, "secondaryPom", "caseloadCounts"] in expected
    assert ["pom", "caseload", "nodes", y_index, "primaryPom", "caseloadCounts"] in expected
    assert_forbidden_at(body, *expected)
    # Their own counts, reached the same way, are allowed.
    own = body["data"]["pom"]["caseload"]["nodes"][x_index]["primaryPom"]
    assert own["caseloadCounts"]["total"] >= 2


async def test_pom_runs_no_mutation(api: RunningApi, world: World) -> None:
    await _assert_no_mutation_allowed(api, world, world.p1_token, as_payload=None)


# --- services and callers without a relevant role -------------------------------------


async def test_view_client_reads_allocations_poms_and_prisoners(
    api: RunningApi, world: World
) -> None:
    token = await api.token(None, ("ROLE_VIEW_POM_ALLOCATIONS",))
    body = await api.gql(READ_PRISONER, {"no": world.x}, token=token)
    assert "errors" not in body, body
    assert body["data"]["prisoner"]["allocation"]["primaryPom"]["staffId"] == world.p1
    body = await api.gql(READ_POM, {"id": world.p2, "prison": PRISON}, token=token)
    assert "errors" not in body, body
    body = await api.gql(READ_PRISON, token=token)
    assert "errors" not in body, body


async def test_view_client_runs_no_mutation(api: RunningApi, world: World) -> None:
    token = await api.token(None, ("ROLE_VIEW_POM_ALLOCATIONS",))
    await _assert_no_mutation_allowed(api, world, token, as_payload=None)


async def test_client_holding_the_spo_role_still_changes_nothing(
    api: RunningApi, world: World
) -> None:
    """A write must be attributable to a person: a client's ROLE_ALLOC_MGR is no SPO."""
    token = await api.token(None, ("ROLE_ALLOC_MGR",))
    body = await api.gql(READ_PRISON, token=token)
    assert_forbidden_at(body, ["prison"])
    await _assert_no_mutation_allowed(api, world, token, as_payload="FORBIDDEN_PRISON")


async def test_user_holding_the_view_role_is_no_service(api: RunningApi, world: World) -> None:
    """ROLE_VIEW_POM_ALLOCATIONS on a person's token does not lift the caseload rule."""
    token = await api.token("ACCESS_VIEWER", ("ROLE_VIEW_POM_ALLOCATIONS",), ("MDI",))
    body = await api.gql(READ_PRISON, token=token)
    assert_forbidden_at(body, ["prison"])
    body = await api.gql(READ_PRISONER, {"no": world.x}, token=token)
    assert_forbidden_at(body, ["prisoner"])


@pytest.mark.parametrize(
    ("username", "roles"),
    [
        ("ACCESS_NO_ROLE", ("ROLE_PRISON",)),
        ("ACCESS_NO_ROLES", ()),
        (None, ("ROLE_SYSTEM_USER", "ROLE_PRISONER_SEARCH")),
        (None, ()),
    ],
    ids=["user, unrelated role", "user, no roles", "client, unrelated roles", "client, no roles"],
)
async def test_no_relevant_role_is_forbidden_everything(
    api: RunningApi, world: World, username: str | None, roles: tuple[str, ...]
) -> None:
    token = await api.token(username, roles, (PRISON,))
    body = await api.gql(READ_PRISON, token=token)
    assert_forbidden_at(body, ["prison"])
    for no in (world.x, world.z):
        body = await api.gql(READ_PRISONER, {"no": no}, token=token)
        assert body["data"] == {"prisoner": None}
        assert_forbidden_at(body, ["prisoner"])
    body = await api.gql(READ_POM, {"id": world.p1, "prison": PRISON}, token=token)
    assert_forbidden_at(body, ["pom"])
    error = error_at(body, ["pom"])
    assert error["message"] == "You may not see this POM"
    await _assert_no_mutation_allowed(api, world, token, as_payload=None)
