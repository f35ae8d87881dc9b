"""The query cost model: nested pages multiply, every caller has a budget, and the
computed cost bounds what the answer really holds.

The class of document that got through before (a small document nesting pages
inside pages) is generated from the schema itself: every path through three
paginated fields, at the largest page size, must cost more than any role's
budget by a wide margin. Random documents run against the sandbox check the
other direction: the cost never understates the answer (`actual <= requested`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import graphql
import pytest

from allocation_api.sandbox import Sandbox
from allocation_api.schema.cost import (
    CONNECTION_ITEMS,
    LIST_SIZES,
    PAGE_SIZE_ARGUMENT,
    QUERY_TOO_COSTLY,
    answer_size,
    budget_for,
    query_cost,
)
from allocation_api.settings import Settings
from tests.conftest import RunningApi, running_api, settings_for
from tests.e2e.access.helpers import assert_refused_before_execution, data_requests
from tests.e2e.api.helpers import allocate, co_work, ready_prisoner_and_pom
from tests.e2e.api.random_documents import SCHEMA, random_document

DEFAULTS = Settings(_env_file=None)  # type: ignore[call-arg]
BUDGETS = {
    "manager": DEFAULTS.cost_budget_manager,
    "pom": DEFAULTS.cost_budget_pom,
    "client": DEFAULTS.cost_budget_client,
}
README = Path(__file__).resolve().parents[3] / "README.md"

BOMB = """{ pom(staffId: 485001, prisonCode: "LEI") { caseload(first: 100) { nodes {
  primaryPom { caseload(first: 100) { nodes {
    primaryPom { caseload(first: 100) { nodes {
      history { event trigger primaryPomStaffId createdBy createdAt } } } } } } } } } } }"""
"""Issue 12's document: 33 tokens, 299 MB of answer when it ran."""

ROOT_ARGUMENTS = {
    "prison": '(code: "LEI")',
    "prisoner": '(offenderNo: "A1234BC")',
    "pom": '(staffId: 485001, prisonCode: "LEI")',
}


def cost(document: str, variables: dict[str, Any] | None = None, max_page_size: int = 100) -> int:
    return query_cost(SCHEMA, graphql.parse(document), variables, max_page_size=max_page_size)


def readme_documents() -> list[str]:
    """Every operation in the README's graphql blocks, one document each."""
    documents = []
    for block in re.findall(r"```graphql\n(.*?)```", README.read_text(), re.S):
        for part in re.split(r"\n(?=(?:query|mutation)\b)", block.strip()):
            documents.append(part)
    return documents


# --- the model, without a server --------------------------------------------------


def test_every_list_field_has_a_declared_size() -> None:
    """A new list field must be a connection's `nodes`, take `first`, or have an entry
    in LIST_SIZES: its size is a decision, never the fallback."""
    undeclared = []
    for type_ in SCHEMA.type_map.values():
        if type_.name.startswith("__") or not isinstance(type_, graphql.GraphQLObjectType):
            continue
        for name, field in type_.fields.items():
            if not isinstance(graphql.get_nullable_type(field.type), graphql.GraphQLList):
                continue
            connection = name == CONNECTION_ITEMS and type_.name.endswith("Connection")
            if connection or PAGE_SIZE_ARGUMENT in field.args:
                continue
            if (type_.name, name) not in LIST_SIZES:
                undeclared.append(f"{type_.name}.{name}")
    assert undeclared == []


def test_connections_are_reached_only_through_fields_taking_first() -> None:
    """A connection's `nodes` takes its size from the field that returned the connection;
    that field must take `first`, or its pages would be unbounded in the model."""
    for type_ in SCHEMA.type_map.values():
        if not isinstance(type_, graphql.GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            if graphql.get_named_type(field.type).name.endswith("Connection"):
                assert PAGE_SIZE_ARGUMENT in field.args, f"{type_.name}.{name}"


def test_the_nested_caseload_bomb_costs_far_more_than_any_budget() -> None:
    bomb = cost(BOMB)
    assert bomb == 182_050_504
    for role, budget in BUDGETS.items():
        assert bomb > 1000 * budget, role


def _paths_through_pages(type_: graphql.GraphQLObjectType, pages: int, depth: int) -> Iterator[str]:
    """Selections below `type_` passing through `pages` more paginated fields, down to
    the items of the last page."""
    if depth <= 0:
        return
    for name, field in sorted(type_.fields.items()):
        named = graphql.get_named_type(field.type)
        if not isinstance(named, graphql.GraphQLObjectType):
            continue
        paginated = PAGE_SIZE_ARGUMENT in field.args
        head = f"{name}(first: 100)" if paginated else name
        left = pages - 1 if paginated else pages
        if left == 0:
            yield f"{head} {{ {CONNECTION_ITEMS} {{ __typename }} }}"
            continue
        for inner in _paths_through_pages(named, left, depth - 1):
            yield f"{head} {{ {inner} }}"


def nested_page_documents(pages: int, max_depth: int) -> list[str]:
    """Every document reaching `pages` nested paginated fields within `max_depth` levels."""
    documents = []
    assert SCHEMA.query_type is not None
    for root, field in SCHEMA.query_type.fields.items():
        named = graphql.get_named_type(field.type)
        assert isinstance(named, graphql.GraphQLObjectType)
        for inner in _paths_through_pages(named, pages, max_depth - 2):
            documents.append(f"{{ {root}{ROOT_ARGUMENTS[root]} {{ {inner} }} }}")
    return documents


def test_every_three_nested_pages_are_refused_for_every_role() -> None:
    """The class of the bomb: any path through three pages of 100 asks for at least
    100^3 objects, whatever lies between them."""
    documents = nested_page_documents(3, max_depth=12)
    assert len(documents) > 20
    assert any("caseload(first: 100) { nodes { primaryPom { caseload" in d for d in documents)
    for document in documents:
        assert graphql.validate(SCHEMA, graphql.parse(document)) == [], document
        assert cost(document) >= 100**3, document
        assert cost(document) > 10 * max(BUDGETS.values()), document


def test_pages_multiply_the_cost_of_what_they_hold() -> None:
    """For nested pages p, q: the cost grows with p x q (no page is counted once)."""
    template = (
        '{ pom(staffId: 1, prisonCode: "LEI") { caseload(first: %d) { nodes { '
        "primaryPom { caseload(first: %d) { nodes { offenderNo } } } } } } }"
    )
    for p, q in [(1, 1), (3, 7), (10, 10), (100, 2), (100, 100)]:
        # Each item of the inner page: 1 (item) + 1 (offenderNo).
        inner = 2 + 1 + q * 2  # caseload (weight 2) + nodes (1) + items
        outer = 2 + 1 + p * (1 + 1 + inner)  # + item + primaryPom
        assert cost(template % (p, q)) == 1 + outer, (p, q)


def test_page_sizes_come_from_literals_variables_defaults_and_the_cap() -> None:
    query = (
        'query($n: Int) { prison(code: "LEI") { prisoners(first: $n) { nodes { offenderNo } } } }'
    )
    at = {n: cost(query, {"n": n}) for n in (0, 1, 10, 100)}
    assert at[0] < at[1] < at[10] < at[100]
    assert cost(query, {}) == cost(query, {"n": 50}) == cost(query, {"n": None})
    defaulted = query.replace("$n: Int)", "$n: Int = 10)")
    assert cost(defaulted, {}) == at[10]
    # Out of range values are refused by the page-size limit; the model clamps them.
    assert cost(query, {"n": 1000}) == at[100]
    assert cost(query, {"n": -5}) == at[0]
    literal = '{ prison(code: "LEI") { prisoners(first: 10) { nodes { offenderNo } } } }'
    assert cost(literal) == at[10]
    unpaged = '{ prison(code: "LEI") { prisoners { nodes { offenderNo } } } }'
    assert cost(unpaged) == cost(query, {"n": 50})
    assert cost(query, {"n": 100}, max_page_size=20) == at[10] + 10 * 2


def test_aliases_and_fragment_spreads_count_per_use() -> None:
    one = cost('{ prison(code: "LEI") { poms { staffId } } }')
    two = cost(
        '{ a: prison(code: "LEI") { poms { staffId } } b: prison(code: "LEI") { poms { staffId } } }'
    )
    assert two == 2 * one
    fragment = "fragment P on Prison { poms { staffId } } "
    spread_twice = cost(
        fragment + '{ a: prison(code: "LEI") { ...P } b: prison(code: "LEI") { ...P } }'
    )
    assert spread_twice == two
    inline = cost('{ prison(code: "LEI") { ... on Prison { poms { staffId } } } }')
    assert inline == one


def test_fragments_are_expanded_once_per_name_and_cycles_end() -> None:
    """Twenty fragments each spreading the next twice: 2^20 uses, computed in linear time."""
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(20))
    document = f'{{ ...F0 }} {chain} fragment F20 on Query {{ prison(code: "LEI") {{ name }} }}'
    assert cost(document) == 2**20 * 2
    cyclic = "{ ...A } fragment A on Query { ...B } fragment B on Query { __typename ...A }"
    assert cost(cyclic) == 1


def test_the_readme_documents_fit_every_budget() -> None:
    documents = readme_documents()
    costs = sorted(cost(document) for document in documents)
    assert costs == [9, 9, 10, 10, 15, 42, 151, 170, 1744], "the README quotes these figures"
    assert costs[-1] <= min(BUDGETS.values())


def test_budgets_follow_the_roles_the_policy_honours() -> None:
    from allocation_api.auth.identity import Identity

    def who(*roles: str, user: bool = True) -> Identity:
        return Identity(
            subject="s",
            username="U" if user else None,
            display_name=None,
            roles=frozenset(roles),
            client_id=None if user else "c",
            auth_source=None,
            token_id=None,
        )

    assert budget_for(who("ROLE_ALLOC_MGR"), DEFAULTS) == BUDGETS["manager"]
    assert budget_for(who("ROLE_ALLOC_CASE_MGR"), DEFAULTS) == BUDGETS["pom"]
    assert budget_for(who("ROLE_ALLOC_CASE_MGR", "ROLE_ALLOC_MGR"), DEFAULTS) == BUDGETS["manager"]
    assert budget_for(who("ROLE_VIEW_POM_ALLOCATIONS", user=False), DEFAULTS) == BUDGETS["client"]
    smallest = min(BUDGETS.values())
    assert budget_for(who("ROLE_VIEW_POM_ALLOCATIONS"), DEFAULTS) == smallest
    assert budget_for(who("ROLE_ALLOC_MGR", user=False), DEFAULTS) == smallest
    assert budget_for(who(), DEFAULTS) == smallest
    assert budget_for(None, DEFAULTS) == smallest


def test_answer_size_counts_keys_and_list_items() -> None:
    assert answer_size(None) == 0
    assert answer_size({"a": 1, "b": None}) == 2
    assert answer_size({"a": [1, 2], "b": {"c": [{"d": 1}]}}) == (1 + 2) + (1 + 1 + (1 + 1))
    assert answer_size({"__schema": {"types": [1] * 100}}) == 1


# --- over HTTP ---------------------------------------------------------------------


@pytest.fixture(scope="module")
async def cases(api: RunningApi) -> dict[str, Any]:
    """Two allocated prisoners sharing a primary POM, one with a co-working POM."""
    numbers = []
    primary: dict[str, Any] = {}
    for _ in range(2):
        no, primary = await ready_prisoner_and_pom(api)
        await allocate(api, no, primary["staffId"])
        numbers.append(no)
    await co_work(api, numbers[0], primary["staffId"])
    return {"prisoners": numbers, "pom": primary["staffId"]}


ROLES: dict[str, dict[str, Any]] = {
    "manager": {},
    "pom": {"username": "POM_BOMBER", "roles": ("ROLE_ALLOC_CASE_MGR",), "caseloads": ("LEI",)},
    "client": {"username": None, "roles": ("ROLE_VIEW_POM_ALLOCATIONS",), "caseloads": ()},
}


@pytest.mark.parametrize("role", list(ROLES))
async def test_the_bomb_is_refused_before_execution_for_every_role(
    api: RunningApi, sandbox: Sandbox, role: str
) -> None:
    token = await api.token(**ROLES[role])
    await api.gql("{ __typename }", token=token)  # token verified and cached
    before = data_requests(sandbox)
    status, body = await api.post({"query": BOMB}, token=token)
    error = assert_refused_before_execution(status, body)
    assert error["extensions"] == {
        "code": QUERY_TOO_COSTLY,
        "cost": 182_050_504,
        "limit": BUDGETS[role],
    }, body
    assert "182050504" in error["message"]
    assert body["extensions"]["cost"] == {"requested": 182_050_504, "actual": 0}
    assert data_requests(sandbox) == before, "the document ran before it was refused"


async def test_the_cost_of_a_document_depends_on_its_variables_on_every_request(
    api: RunningApi,
) -> None:
    """The cost memo is keyed by document and page-size values: the same text passes
    with small pages, is refused with large ones, and passes again."""
    query = """query($a: Int, $b: Int, $c: Int) { pom(staffId: 485001, prisonCode: "LEI") {
      caseload(first: $a) { nodes { primaryPom { caseload(first: $b) { nodes {
        primaryPom { caseload(first: $c) { nodes { history { event } } } } } } } } } } }"""
    small = {"a": 2, "b": 2, "c": 2}
    body = await api.gql(query, small)
    assert body["extensions"]["cost"]["requested"] == cost(query, small)
    status, refused = await api.post(
        {"query": query, "variables": {"a": 100, "b": 100, "c": 100}}, token=await api.token()
    )
    assert status == 400, refused
    assert refused["errors"][0]["extensions"]["code"] == QUERY_TOO_COSTLY
    assert refused["errors"][0]["extensions"]["cost"] == cost(query, {"a": 100, "b": 100, "c": 100})
    body = await api.gql(query, small)
    assert body["extensions"]["cost"]["requested"] == cost(query, small)


async def test_the_readme_prison_page_runs_within_budget(api: RunningApi) -> None:
    (first_page,) = [d for d in readme_documents() if d.startswith("query FirstPage")]
    body = await api.gql(first_page)
    assert "errors" not in body, body
    spent = body["extensions"]["cost"]
    assert spent["requested"] == cost(first_page)
    assert 0 < spent["actual"] <= spent["requested"]


ROOTS = {
    "prison": 'prison(code: "LEI") : Prison',
    "prisoner": 'prisoner(offenderNo: "{prisoner}") : Prisoner',
    "pom": 'pom(staffId: {pom}, prisonCode: "LEI") : Pom',
}


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("root", list(ROOTS))
async def test_random_documents_never_cost_less_than_their_answer(
    api: RunningApi, cases: dict[str, Any], root: str, seed: int
) -> None:
    start = ROOTS[root].format(prisoner=cases["prisoners"][0], pom=cases["pom"])
    document = random_document(seed, start)
    body = await api.gql(document)
    spent = body["extensions"]["cost"]
    assert spent["requested"] == cost(document), document
    assert spent["actual"] == answer_size(body.get("data"))
    assert spent["actual"] <= spent["requested"], document


NESTED = [
    # Pages inside pages, with the plain lists (poms, history, overrideReasons) inside.
    """{ prison(code: "LEI") { poms { staffId caseload(first: 5) { totalCount nodes {
         offenderNo overrideReasons history { event overrideReasons createdAt } } } } } }""",
    """{ prison(code: "LEI") { prisoners(first: 30) { totalCount nodes { offenderNo
         allocation { primaryPom { caseload(first: 10) { nodes { offenderNo
           prisoner { firstName } secondaryPom { staffId } } } } history { event } } } } } }""",
    """{ pom(staffId: {pom}, prisonCode: "LEI") { caseload { nodes { prisoner {
         allocation { history { event } primaryPom { caseloadCounts { total } } } } } } } }""",
]


@pytest.mark.parametrize("index", range(len(NESTED)))
async def test_nested_documents_never_cost_less_than_their_answer(
    api: RunningApi, cases: dict[str, Any], index: int
) -> None:
    document = NESTED[index].replace("{pom}", str(cases["pom"]))
    body = await api.gql(document)
    # Earlier suites move and release prisoners of the shared sandbox: a case whose
    # prisoner has left the caller's prisons answers its prisoner data with FORBIDDEN
    # (tests/e2e/access/test_data_authorization.py); nothing else may fail.
    for error in body.get("errors", []):
        assert error["extensions"]["code"] == "FORBIDDEN", body
        assert error["path"][-1] in ("prisoner", "history"), body
    spent = body["extensions"]["cost"]
    assert spent["requested"] == cost(document)
    assert 0 < spent["actual"] <= spent["requested"]


# --- the response size cap -----------------------------------------------------------


@pytest.fixture(scope="module")
async def capped_api(sandbox: Sandbox, database_url: str) -> AsyncIterator[RunningApi]:
    settings = settings_for(sandbox, database_url, max_response_bytes=4000)
    async with running_api(settings, sandbox) as running:
        yield running


async def test_an_answer_over_the_size_cap_is_replaced_by_a_typed_error(
    capped_api: RunningApi,
) -> None:
    small = await capped_api.gql('{ prison(code: "LEI") { name } }')
    assert small["data"] == {"prison": {"name": small["data"]["prison"]["name"]}}

    query = '{ prison(code: "LEI") { prisoners(first: 100) { nodes { offenderNo firstName lastName } } } }'
    body = await capped_api.gql(query)  # HTTP 200: execution had started
    assert body["data"] is None, "no part of the answer may be sent"
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "RESPONSE_TOO_LARGE", "limit": 4000}
    assert body["extensions"]["cost"]["actual"] > 0  # it ran; only the answer was withheld
