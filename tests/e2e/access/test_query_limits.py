"""Query limits over HTTP: hostile documents are refused with 400 before anything runs.

Against the session's dev API (max_depth 12, max_aliases 30, max_tokens
2000, max_page_size 100, max_operations 1). Each document would make
upstream calls if it executed, so "refused before execution" is proved
twice: `extensions.calls` is zero and the sandbox saw no request.
"""

from __future__ import annotations

from typing import Any

import pytest

from allocation_api.sandbox import Sandbox
from tests.conftest import RunningApi
from tests.e2e.access.helpers import assert_refused_before_execution, data_requests


def _depth_bomb(levels: int) -> str:
    """prisoner -> allocation -> primaryPom -> caseload -> nodes -> prisoner -> ..."""
    inner = "offenderNo"
    for _ in range(levels):
        inner = (
            f"allocation {{ primaryPom {{ caseload {{ nodes {{ prisoner {{ {inner} }} }} }} }} }}"
        )
    return f'{{ prisoner(offenderNo: "A1234BC") {{ {inner} }} }}'


CHAIN = (
    'prisoner(offenderNo: "A1234BC")',
    "allocation",
    "primaryPom",
    "caseload",
    "nodes",
    "prisoner",
    "allocation",
    "secondaryPom",
    "caseload",
    "nodes",
    "prisoner",
    "allocation",
    "primaryPom",
)


def _nested(fields: int) -> str:
    """`fields` nested fields of CHAIN with a `__typename` leaf below: `fields + 1` levels
    (the root field is level 1)."""
    inner = "__typename"
    for field in reversed(CHAIN[:fields]):
        inner = f"{field} {{ {inner} }}"
    return f"{{ {inner} }}"


def _alias_bomb(count: int) -> str:
    fields = " ".join(f'p{i}: prison(code: "LEI") {{ name }}' for i in range(count))
    return f"{{ {fields} }}"


def _token_bomb(names: int) -> str:
    return '{ prison(code: "LEI") { ' + "name " * names + "} }"


HOSTILE: dict[str, tuple[dict[str, Any], str]] = {
    "depth bomb (depth 27)": (
        {"query": _depth_bomb(5)},
        "exceeds maximum operation depth of 12",
    ),
    "depth 13: one level past the limit": (
        {"query": _nested(12)},
        "exceeds maximum operation depth of 12 (13 levels of fields)",
    ),
    "depth bomb through fragments": (
        {
            "query": "query { ...A } "
            + " ".join(
                f"fragment {a} on {t} {{ {f} {{ ...{b} }} }}"
                for a, t, f, b in [
                    ("A", "Query", 'prisoner(offenderNo: "A1234BC")', "B"),
                    ("B", "Prisoner", "allocation", "C"),
                    ("C", "Allocation", "primaryPom", "D"),
                    ("D", "Pom", "caseload", "E"),
                    ("E", "AllocationConnection", "nodes", "F"),
                    ("F", "Allocation", "prisoner", "G"),
                    ("G", "Prisoner", "allocation", "H"),
                    ("H", "Allocation", "secondaryPom", "I"),
                    ("I", "Pom", "caseload", "J"),
                    ("J", "AllocationConnection", "nodes", "K"),
                    ("K", "Allocation", "prisoner", "L"),
                    ("L", "Prisoner", "allocation", "M"),
                    ("M", "Allocation", "primaryPom", "N"),
                ]
            )
            + " fragment N on Pom { staffId }"
        },
        "exceeds maximum operation depth of 12",
    ),
    "alias bomb (31 aliases)": ({"query": _alias_bomb(31)}, "31 aliases found. Allowed: 30"),
    "token bomb (2010 tokens)": (
        {"query": _token_bomb(2001)},
        "more than 2000 tokens",
    ),
    "first: 1000 literal": (
        {"query": '{ prison(code: "LEI") { prisoners(first: 1000) { totalCount } } }'},
        "'first' may be at most 100 (got 1000)",
    ),
    "first: 1000 in a POM's caseload": (
        {
            "query": '{ pom(staffId: 485001, prisonCode: "LEI") { caseload(first: 1000) { totalCount } } }'
        },
        "'first' may be at most 100 (got 1000)",
    ),
    "first: -1 literal": (
        {"query": '{ prison(code: "LEI") { prisoners(first: -1) { totalCount } } }'},
        "must not be negative",
    ),
    "first: $n = 1000 variable": (
        {
            "query": 'query($n: Int!) { prison(code: "LEI") { prisoners(first: $n) { totalCount } } }',
            "variables": {"n": 1000},
        },
        "Variable '$n': 'first' may be at most 100 (got 1000)",
    ),
    "first: $n defaulting to 1000": (
        {
            "query": 'query($n: Int = 1000) { prison(code: "LEI") { prisoners(first: $n) { totalCount } } }',
        },
        "Variable '$n': 'first' may be at most 100 (got 1000)",
    ),
    "two operations, one named": (
        {
            "query": 'query A { __typename } query B { prison(code: "LEI") { name } }',
            "operationName": "B",
        },
        "The document contains 2 operations but one operation may be sent per request",
    ),
    "two anonymous operations": (
        {"query": '{ __typename } { prison(code: "LEI") { name } }'},
        "The document contains 2 operations",
    ),
    "query plus mutation": (
        {
            "query": 'query Q { prison(code: "LEI") { name } } '
            'mutation M { updatePomDetails(input: {staffId: 485001, prisonCode: "LEI", '
            "workingPattern: 0.5}) { __typename } }",
            "operationName": "M",
        },
        "The document contains 2 operations",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_hostile_document_is_refused_before_execution(
    api: RunningApi, sandbox: Sandbox, case: str
) -> None:
    request, fragment = HOSTILE[case]
    token = await api.token()
    await api.gql("{ __typename }")  # the token is verified and cached: nothing left to fetch
    before = data_requests(sandbox)
    status, body = await api.post(request, token=token)
    error = assert_refused_before_execution(status, body)
    assert fragment in error["message"], body
    assert "Traceback" not in str(body)
    assert data_requests(sandbox) == before, "the document ran before it was refused"


async def test_limits_are_inclusive(api: RunningApi) -> None:
    """The limits themselves are allowed: 30 aliases, first: 100, depth 12 (12 levels)."""
    body = await api.gql(_nested(11))
    assert body["data"] == {"prisoner": None}, body
    body = await api.gql(_alias_bomb(30))
    assert "errors" not in body, body
    body = await api.gql('{ prison(code: "LEI") { prisoners(first: 100) { totalCount } } }')
    assert "errors" not in body, body
    body = await api.gql(
        'query($n: Int!) { prison(code: "LEI") { prisoners(first: $n) { totalCount } } }',
        {"n": 100},
    )
    assert "errors" not in body, body


async def test_page_size_variables_are_checked_on_every_request_of_one_document(
    api: RunningApi,
) -> None:
    """The limiter remembers where a document's `first: $n` arguments are, never
    their values: the same text is allowed with 5, refused with 1000, allowed again."""
    query = 'query($n: Int!) { prison(code: "LEI") { prisoners(first: $n) { totalCount } } }'
    body = await api.gql(query, {"n": 5})
    assert "errors" not in body, body
    status, refused = await api.post(
        {"query": query, "variables": {"n": 1000}}, token=await api.token()
    )
    assert status == 400, refused
    assert "'first' may be at most 100 (got 1000)" in refused["errors"][0]["message"]
    body = await api.gql(query, {"n": 100})
    assert "errors" not in body, body
