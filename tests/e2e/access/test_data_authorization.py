"""Authorization on the data, not the path.

A prisoner's data is decided on the prisoner's CURRENT prison (live NOMIS),
however it is reached: `prisoner(offenderNo)`, a POM's caseload, an
allocation's prisoner, its history, a co-worker's caseload, a mutation's
payload. And a refusal is the same for a prisoner held elsewhere, released,
or unknown, in reads and in writes, naming no prison.

The world (set up once for the module, by the default SPO, on fresh LEI
prisoners): T is allocated to LEI POMs P (primary) and C (co-working), then
moved to MDI in NOMIS (the allocation stays at LEI, as a co-working POM does
after a transfer); V, C's other case, stays at LEI. D is a second moved
prisoner like T, kept for the deallocation that changes it. Every prisoner
moved here goes back to LEI when the module ends.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from allocation_api.auth import policy
from allocation_api.auth.identity import (
    ROLE_ALLOC_CASE_MGR,
    ROLE_ALLOC_MGR,
    ROLE_VIEW_POM_ALLOCATIONS,
    Identity,
)
from allocation_api.sandbox import Sandbox
from tests.conftest import RunningApi
from tests.e2e.access.helpers import assert_forbidden_at, error_at
from tests.e2e.api.helpers import (
    ALLOCATE_SECONDARY,
    active_poms,
    allocate,
    ready_prisoner_and_pom,
)

PRISON = "LEI"
NOMIS_FIELDS = "prisonId cellLocation dateOfBirth category"

CASELOAD = f"""query($id: Int!) {{ pom(staffId: $id, prisonCode: "LEI") {{
  caseload(first: 100) {{ totalCount nodes {{ offenderNo prisonCode
    prisoner {{ {NOMIS_FIELDS} caseInformation {{ tier }} }}
    history {{ event prisonCode createdBy }} }} }} }} }}"""

CASELOAD_HISTORY_ONLY = """query($id: Int!) { pom(staffId: $id, prisonCode: "LEI") {
  caseload(first: 100) { nodes { offenderNo history { event } } } } }"""

THROUGH_CO_WORKER = f"""query($no: String!) {{ prisoner(offenderNo: $no) {{ offenderNo
  allocation {{ secondaryPom {{ caseload(first: 100) {{ nodes {{ offenderNo
    prisoner {{ {NOMIS_FIELDS} }} history {{ event }} }} }} }} }} }} }}"""

THROUGH_PRIMARY_OF_CASELOAD = f"""query($id: Int!) {{ pom(staffId: $id, prisonCode: "LEI") {{
  caseload(first: 20) {{ nodes {{ offenderNo primaryPom {{ staffId
    caseload(first: 20) {{ nodes {{ offenderNo prisoner {{ {NOMIS_FIELDS} }}
      history {{ event }} }} }} }} }} }} }} }}"""

READ_PRISONER = f"""query($no: String!) {{ prisoner(offenderNo: $no) {{ offenderNo {NOMIS_FIELDS}
  caseInformation {{ tier }} allocation {{ prisonCode history {{ event }} }} }} }}"""

DEALLOCATE_SECONDARY_WITH_PRISONER = f"""mutation($input: DeallocateInput!) {{
  deallocateSecondaryPom(input: $input) {{ __typename
    ... on Allocation {{ offenderNo secondaryPomStaffId prisoner {{ {NOMIS_FIELDS} }}
                         history {{ event }} }}
    ... on Error {{ code message }} }} }}"""


@dataclass(frozen=True)
class World:
    t: str
    v: str
    d: str
    p: int
    c: int
    c_token: str


@pytest.fixture(scope="module")
async def world(api: RunningApi, sandbox: Sandbox) -> AsyncIterator[World]:
    data = sandbox.data
    # A co-working POM with a NOMIS account whose only caseload is LEI (a POM
    # token for them reads "their own caseload"), not one test_roles uses.
    candidates = [
        (pom["staffId"], user.username)
        for pom in reversed(await active_poms(api, PRISON))
        if (user := data.user_for_staff(pom["staffId"])) is not None and user.caseloads == (PRISON,)
    ]
    c, c_user = candidates[3] if len(candidates) > 3 else candidates[-1]
    moved: list[str] = []
    cases: list[str] = []
    primary = 0
    for _ in range(3):
        no, pom = await ready_prisoner_and_pom(api, PRISON)
        primary = pom["staffId"]
        assert primary != c, "pick another co-worker"
        assert (await allocate(api, no, primary))["__typename"] == "Allocation"
        body = await api.gql(ALLOCATE_SECONDARY, {"input": {"offenderNo": no, "staffId": c}})
        assert body["data"]["allocateSecondaryPom"]["__typename"] == "Allocation", body
        cases.append(no)
    t, v, d = cases
    for no in (t, d):
        data.update_prisoner(no, prisonId="MDI", cellLocation="MDI-1-1-001")
        moved.append(no)
    try:
        yield World(
            t=t,
            v=v,
            d=d,
            p=primary,
            c=c,
            c_token=sandbox.mint_token(username=c_user, roles=[ROLE_ALLOC_CASE_MGR]),
        )
    finally:
        for no in moved:
            data.update_prisoner(no, prisonId=PRISON)


async def _lei_manager(api: RunningApi) -> str:
    return await api.token("AUTHZ_SPO_LEI", ("ROLE_ALLOC_MGR",), (PRISON,))


async def _reader(api: RunningApi) -> str:
    return await api.token(None, ("ROLE_VIEW_POM_ALLOCATIONS",))


def _index(nodes: list[dict[str, Any]], no: str) -> int:
    return next(i for i, n in enumerate(nodes) if n["offenderNo"] == no)


# --- case 2: the transferred prisoner through every nested path ----------------------


@pytest.mark.parametrize("caller", ["LEI manager", "LEI POM, own caseload"])
async def test_caseload_refuses_a_transferred_prisoner_and_shows_the_rest(
    api: RunningApi, world: World, caller: str
) -> None:
    token = await _lei_manager(api) if caller == "LEI manager" else world.c_token
    body = await api.gql(CASELOAD, {"id": world.c}, token=token)
    caseload = body["data"]["pom"]["caseload"]
    nodes = caseload["nodes"]
    t, v = _index(nodes, world.t), _index(nodes, world.v)
    # The node stays (the allocation is this LEI caseload's own); its prisoner
    # data is null, each with FORBIDDEN at its path, and nothing of MDI shows.
    assert nodes[t] == {
        "offenderNo": world.t,
        "prisonCode": PRISON,
        "prisoner": None,
        "history": None,
    }
    assert_forbidden_at(
        body,
        ["pom", "caseload", "nodes", t, "prisoner"],
        ["pom", "caseload", "nodes", t, "history"],
        ["pom", "caseload", "nodes", _index(nodes, world.d), "prisoner"],
        ["pom", "caseload", "nodes", _index(nodes, world.d), "history"],
    )
    assert error_at(body, ["pom", "caseload", "nodes", t, "prisoner"])["message"] == (
        "You may not see this prisoner"
    )
    assert "MDI" not in str(body)
    assert caseload["totalCount"] == len(nodes)
    # The prisoner still at LEI is whole.
    assert nodes[v]["prisoner"]["prisonId"] == PRISON
    assert nodes[v]["history"], nodes[v]


async def test_history_alone_is_refused_too(api: RunningApi, world: World) -> None:
    body = await api.gql(CASELOAD_HISTORY_ONLY, {"id": world.c}, token=await _lei_manager(api))
    nodes = body["data"]["pom"]["caseload"]["nodes"]
    assert_forbidden_at(
        body,
        ["pom", "caseload", "nodes", _index(nodes, world.t), "history"],
        ["pom", "caseload", "nodes", _index(nodes, world.d), "history"],
    )
    assert nodes[_index(nodes, world.v)]["history"]


async def test_co_workers_caseload_reached_through_a_visible_prisoner(
    api: RunningApi, world: World
) -> None:
    """V is the LEI manager's; its co-worker's caseload holds T: T's data stays hidden."""
    body = await api.gql(THROUGH_CO_WORKER, {"no": world.v}, token=await _lei_manager(api))
    nodes = body["data"]["prisoner"]["allocation"]["secondaryPom"]["caseload"]["nodes"]
    base = ["prisoner", "allocation", "secondaryPom", "caseload", "nodes"]
    hidden = [_index(nodes, world.t), _index(nodes, world.d)]
    assert_forbidden_at(
        body, *[[*base, i, field] for i in hidden for field in ("prisoner", "history")]
    )
    assert "MDI" not in str(body)


async def test_primary_poms_caseload_reached_through_a_caseload(
    api: RunningApi, world: World
) -> None:
    body = await api.gql(
        THROUGH_PRIMARY_OF_CASELOAD, {"id": world.c}, token=await _lei_manager(api)
    )
    assert "MDI" not in str(body)
    paths = [e["path"] for e in body["errors"]]
    assert paths
    assert all(p[-1] in ("prisoner", "history") for p in paths), paths
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    # Each refused node is T or D, at both levels.
    for path in paths:
        node: Any = body["data"]
        for key in path[:-1]:
            node = node[key]
        assert node["offenderNo"] in (world.t, world.d), path


async def test_a_mutation_payload_decides_on_the_prisoner_too(
    api: RunningApi, world: World
) -> None:
    """The LEI manager may remove the LEI co-worker (the allocation is at LEI), but the
    payload's prisoner and history are the transferred prisoner's: refused."""
    body = await api.gql(
        DEALLOCATE_SECONDARY_WITH_PRISONER,
        {"input": {"offenderNo": world.d}},
        token=await _lei_manager(api),
    )
    payload = body["data"]["deallocateSecondaryPom"]
    assert payload["__typename"] == "Allocation", body
    assert payload["secondaryPomStaffId"] is None
    assert (payload["prisoner"], payload["history"]) == (None, None)
    assert_forbidden_at(
        body, ["deallocateSecondaryPom", "prisoner"], ["deallocateSecondaryPom", "history"]
    )
    assert "MDI" not in str(body)


async def test_root_read_refuses_the_transferred_prisoner(api: RunningApi, world: World) -> None:
    for token in (await _lei_manager(api), world.c_token):
        body = await api.gql(READ_PRISONER, {"no": world.t}, token=token)
        assert body["data"] == {"prisoner": None}
        assert_forbidden_at(body, ["prisoner"])


async def test_reading_service_and_new_prison_see_the_transferred_prisoner(
    api: RunningApi, world: World
) -> None:
    """The rule follows the prisoner: MDI's manager and the reading service see T."""
    body = await api.gql(CASELOAD, {"id": world.c}, token=await _reader(api))
    assert "errors" not in body, body
    nodes = body["data"]["pom"]["caseload"]["nodes"]
    assert nodes[_index(nodes, world.t)]["prisoner"]["prisonId"] == "MDI"
    assert nodes[_index(nodes, world.t)]["history"]
    mdi = await api.token("AUTHZ_SPO_MDI", ("ROLE_ALLOC_MGR",), ("MDI",))
    body = await api.gql(READ_PRISONER, {"no": world.t}, token=mdi)
    assert "errors" not in body, body
    assert body["data"]["prisoner"]["prisonId"] == "MDI"
    assert body["data"]["prisoner"]["allocation"]["history"]


# --- case 5: one refusal for unknown, elsewhere and released ------------------------------


@pytest.fixture(scope="module")
async def strangers(api: RunningApi, sandbox: Sandbox) -> AsyncIterator[dict[str, str]]:
    """Numbers an LEI caller may not see: unknown, held at MDI (allocated there), released
    (allocated at MDI before release)."""
    data = sandbox.data
    unknown = next(
        n for n in (f"Y{i:04d}YY" for i in itertools.count(9999, -1)) if data.prisoner(n) is None
    )
    elsewhere, pom = await ready_prisoner_and_pom(api, "MDI")
    assert (await allocate(api, elsewhere, pom["staffId"]))["__typename"] == "Allocation"
    released, pom = await ready_prisoner_and_pom(api, "MDI")
    assert (await allocate(api, released, pom["staffId"]))["__typename"] == "Allocation"
    data.update_prisoner(released, prisonId="OUT")
    try:
        yield {"unknown": unknown, "elsewhere": elsewhere, "released": released}
    finally:
        data.update_prisoner(released, prisonId="MDI")


CALLERS = {
    "no role": ("AUTHZ_NO_ROLE", ("ROLE_PRISON",), (PRISON,)),
    "manager without caseloads": ("AUTHZ_SPO_NONE", ("ROLE_ALLOC_MGR",), ()),
    "LEI manager": ("AUTHZ_SPO_LEI", ("ROLE_ALLOC_MGR",), (PRISON,)),
    "LEI POM": ("AUTHZ_POM_LEI", ("ROLE_ALLOC_CASE_MGR",), (PRISON,)),
}


def _without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    """The body as a client sees it, less the id every response has of its own."""
    extensions = {k: v for k, v in body.get("extensions", {}).items() if k != "requestId"}
    return {**body, "extensions": extensions}


async def _answers(
    api: RunningApi, document: str, token: str, variables: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    # One request first, so the caller's own lookups (caseloads, staff id, cached
    # per user) are made before the answers compared.
    await api.gql(document, next(iter(variables.values())), token=token)
    return {
        name: _without_request_id(await api.gql(document, values, token=token))
        for name, values in variables.items()
    }


@pytest.mark.parametrize("caller", list(CALLERS))
async def test_prisoner_read_is_the_same_for_unknown_elsewhere_and_released(
    api: RunningApi, strangers: dict[str, str], caller: str
) -> None:
    token = await api.token(*CALLERS[caller])
    bodies = await _answers(
        api, READ_PRISONER, token, {name: {"no": no} for name, no in strangers.items()}
    )
    # Identical, request-level extensions (dev call counts) included.
    assert bodies["elsewhere"] == bodies["unknown"] == bodies["released"], bodies
    assert bodies["unknown"]["data"] == {"prisoner": None}
    assert_forbidden_at(bodies["unknown"], ["prisoner"])
    if caller in ("no role", "manager without caseloads"):
        # Refused before any lookup: nothing to tell them apart by, not even work done.
        assert bodies["unknown"]["extensions"]["calls"] == {"upstream": 0, "store": 0}


MUTATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "allocatePrimaryPom": ("AllocatePrimaryPomInput", {"staffId": 1}),
    "allocateSecondaryPom": ("AllocateSecondaryPomInput", {"staffId": 1}),
    "deallocatePrimaryPom": ("DeallocateInput", {}),
    "deallocateSecondaryPom": ("DeallocateInput", {}),
    "updateCaseInformation": ("CaseInformationInput", {"tier": "B", "probationService": "WALES"}),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
@pytest.mark.parametrize("caller", ["manager without caseloads", "LEI manager"])
async def test_each_mutation_refuses_unknown_elsewhere_and_released_alike(
    api: RunningApi, strangers: dict[str, str], mutation: str, caller: str
) -> None:
    input_type, extra = MUTATIONS[mutation]
    document = f"""mutation($input: {input_type}!) {{ {mutation}(input: $input) {{
      __typename ... on Error {{ code message }} }} }}"""
    token = await api.token(*CALLERS[caller])
    before = (await api.gql(READ_PRISONER, {"no": strangers["elsewhere"]}))["data"]
    bodies = await _answers(
        api,
        document,
        token,
        {name: {"input": {"offenderNo": no, **extra}} for name, no in strangers.items()},
    )
    assert bodies["elsewhere"] == bodies["unknown"] == bodies["released"], bodies
    assert bodies["unknown"]["data"][mutation] == {
        "__typename": "NotAllowedError",
        "code": "FORBIDDEN_PRISON",
        "message": "No prisoner with this number is in a prison where you may change allocations",
    }
    assert (await api.gql(READ_PRISONER, {"no": strangers["elsewhere"]}))["data"] == before


# --- the decisions themselves --------------------------------------------------------------


def _identities() -> list[Identity]:
    roles = [(), (ROLE_ALLOC_MGR,), (ROLE_ALLOC_CASE_MGR,), (ROLE_VIEW_POM_ALLOCATIONS,)]
    return [
        Identity(
            subject="S",
            username=username,
            display_name=None,
            roles=frozenset(r),
            client_id="c",
            auth_source="x",
            token_id=None,
        )
        for username in ("U", None)
        for r in roles
    ]


def test_whoever_may_change_a_prisoner_may_read_them() -> None:
    """A mutation's prison check covers the prisoner data its payload shows."""
    for identity in _identities():
        for caseloads in (frozenset(), frozenset({"LEI"}), frozenset({"LEI", "MDI"})):
            for prison in ("LEI", "MDI", "OUT", None):
                if policy.can_mutate(identity, caseloads, prison):
                    assert policy.can_read_prisoner(
                        identity, caseloads, prison, own_staff_id=None, prisoner_pom_staff_ids=()
                    )


def test_no_grant_means_no_prisoner_at_all() -> None:
    """`may_read_some_prisoner` False: `can_read_prisoner` refuses every prisoner anyway,
    so refusing before the lookup changes no decision, only what the lookup would reveal."""
    for identity in _identities():
        for caseloads in (frozenset(), frozenset({"LEI"})):
            if policy.may_read_some_prisoner(identity, caseloads):
                continue
            for prison in ("LEI", "MDI", None):
                assert not policy.can_read_prisoner(
                    identity, caseloads, prison, own_staff_id=1, prisoner_pom_staff_ids=[1]
                )


def test_the_current_prison_wins_over_the_recorded_one() -> None:
    assert policy.current_prison("MDI", "LEI") == "MDI"
    assert policy.current_prison("OUT", "LEI") == "OUT"
    assert policy.current_prison(None, "LEI") == "LEI"
    assert policy.current_prison(None, None) is None
