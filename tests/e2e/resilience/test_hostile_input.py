"""Hostile input at the HTTP endpoint: whatever arrives, the answer is a clean 4xx or a
GraphQL answer with typed errors, never a 500 or an INTERNAL error, and nothing is
written unless a mutation really succeeded.

A property test generates GraphQL documents from the real schema (the committed
SDL, which a test keeps current): random root fields with aliases, arguments of
the right and the wrong types as literals or variables, random variable values,
plus random JSON bodies. Explicit cases pin the HTTP edge: sizes, content types,
encodings, nesting, huge numbers, NUL bytes, unicode.

The property test is bounded to 60 examples; `HOSTILE_EXAMPLES=1000` runs a
deeper search. This module runs its own API instance on its own database, so what the property
test happens to write (it may allocate, record case information or make a POM
inactive with plausible generated input) cannot disturb the other tests.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphql
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from allocation_api.sandbox import Sandbox
from allocation_api.store.testing import database_for_tests, drop_database_for_tests
from tests.conftest import RunningApi, running_api, settings_for
from tests.e2e.api.helpers import ready_prisoner_and_pom
from tests.e2e.resilience.conftest import FAST_FAILING
from tests.e2e.resilience.support import ALLOCATE, table_counts

SDL = Path(__file__).resolve().parents[3] / "allocation_api" / "schema" / "schema.graphql"
SCHEMA = graphql.build_schema(SDL.read_text())
CLEAN_STATUSES = {200, 400, 413, 415}
SUCCESS_TYPES = {"Allocation", "CaseInformation", "Pom"}


@dataclass(frozen=True)
class Plausible:
    """Values from the sandbox by argument or input field name (offenderNo, staffId,
    ...), so that generated input often gets past validation and reaches the rules,
    the upstreams and the store."""

    by_name: dict[str, list[Any]]


@pytest.fixture(scope="module")
async def hostile_api(box: Sandbox) -> AsyncIterator[RunningApi]:
    url = await database_for_tests()
    try:
        settings = settings_for(box, url, **FAST_FAILING)
        async with running_api(settings, box) as api:
            yield api
    finally:
        await drop_database_for_tests(url)


# --- checking an answer ------------------------------------------------------------------


def check_answer(status: int, body: Any) -> list[dict[str, Any]]:
    """Assert the answer is clean; return the GraphQL errors."""
    assert status in CLEAN_STATUSES, (status, body)
    assert isinstance(body, dict), f"not JSON: {body!r:.300}"
    assert "data" in body or "errors" in body, body
    if status != 200:
        assert body.get("errors"), body
        assert body.get("data") is None, body
    errors: list[dict[str, Any]] = body.get("errors") or []
    for error in errors:
        assert isinstance(error.get("message"), str), error
        code = error.get("extensions", {}).get("code")
        assert isinstance(code, str), error
        assert code != "INTERNAL", f"an unexpected exception: {error}"
    text = json.dumps(body)
    assert "Traceback" not in text, text[:500]
    assert 'File \\"' not in text, text[:500]
    return errors


def succeeded(request: Any, answer: dict[str, Any]) -> bool:
    """Was the request a mutation, and did any of its fields return a success member?"""
    query = request.get("query") if isinstance(request, dict) else None
    if not isinstance(query, str) or not query.lstrip().startswith("mutation"):
        return False  # a query may never write, whatever it returned
    data = answer.get("data")
    if not isinstance(data, dict):
        return False
    return any(isinstance(v, dict) and v.get("__typename") in SUCCESS_TYPES for v in data.values())


async def send(api: RunningApi, raw: bytes, content_type: str = "application/json") -> Any:
    return await api.post(raw, token=await api.token(), headers={"Content-Type": content_type})


# --- strategies from the schema -----------------------------------------------------------

NAMES = st.from_regex(r"[_A-Za-z][_0-9A-Za-z]{0,12}", fullmatch=True)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "A1234BC",
            "a1234bc",
            " A1234BC ",
            "A1234BC\u0000",
            "\u0000",
            "\u04101234\u0412\u0421",  # Cyrillic look-alikes
            "Ａ１２３４ＢＣ",  # full-width
            "A١٢٣٤BC",  # Arabic-Indic digits
            "A1234BC\n",
            "'; DROP TABLE allocation; --",
            "../../etc/passwd",
            "%2e%2e%2f",
            "LEI",
            "lei",
            "L\u0000I",
            "\U0001f600" * 3,
            "\u202eCBA4321A",
        ]
    ),
    st.integers(176, 5_000).map(lambda n: "x" * n),  # past every length limit
)
INTS = st.one_of(
    st.integers(0, 3),
    st.integers(-(2**31), 2**31 - 1),
    st.sampled_from([0, -1, 1, 2**31 - 1, -(2**31), 485001, 485002]),
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    HOSTILE_TEXT,
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=8,
)


def right_value(
    draw: st.DrawFn,
    type_: graphql.GraphQLInputType,
    plausible: Plausible,
    depth: int = 0,
    *,
    nullable: bool = True,
    name: str = "",
) -> Any:
    """A JSON value of `type_` (the kind GraphQL would accept, if not the rules) for the
    argument or input field `name`."""
    if isinstance(type_, graphql.GraphQLNonNull):
        return right_value(draw, type_.of_type, plausible, depth, nullable=False, name=name)
    if nullable and draw(st.integers(0, 9)) == 0:
        return None
    if isinstance(type_, graphql.GraphQLList):
        return [
            right_value(draw, type_.of_type, plausible, depth + 1)
            for _ in range(draw(st.integers(0, 3)))
        ]
    if isinstance(type_, graphql.GraphQLEnumType):
        return draw(st.sampled_from(sorted(type_.values)))
    if isinstance(type_, graphql.GraphQLInputObjectType):
        value = {}
        for field_name, field in type_.fields.items():
            if graphql.is_non_null_type(field.type) or draw(st.integers(0, 3)) == 0:
                value[field_name] = right_value(
                    draw, field.type, plausible, depth + 1, name=field_name
                )
        return value
    assert isinstance(type_, graphql.GraphQLScalarType)
    known = plausible.by_name.get(name)
    if known and draw(st.integers(0, 3)):
        return draw(st.sampled_from(known))
    scalar = type_.name
    if scalar == "Int":
        return draw(INTS)
    if scalar == "Float":
        return draw(st.floats(-10, 10, allow_nan=False) | st.sampled_from([0.1, 0.5, 1.0]))
    if scalar == "Boolean":
        return draw(st.booleans())
    return draw(HOSTILE_TEXT)


def some_value(
    draw: st.DrawFn,
    type_: graphql.GraphQLInputType,
    plausible: Plausible,
    *,
    hostile: bool,
    name: str,
) -> Any:
    """A right value; in a hostile document, sometimes anything at all."""
    if hostile and draw(st.integers(0, 3)) == 0:
        return draw(ANY_JSON)
    return right_value(draw, type_, plausible, name=name)


def literal(value: Any, type_: graphql.GraphQLInputType | None) -> str:
    """`value` written as a GraphQL literal (enums bare when the type is an enum)."""
    named = graphql.get_named_type(type_) if type_ is not None else None
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, int) or value == value else "0"
    if isinstance(value, str):
        if isinstance(named, graphql.GraphQLEnumType) and value in named.values:
            return value
        return json.dumps(value)
    inner = type_.of_type if isinstance(type_, graphql.GraphQLNonNull) else type_
    if isinstance(value, list):
        item = inner.of_type if isinstance(inner, graphql.GraphQLList) else None
        return "[" + ", ".join(literal(v, item) for v in value) + "]"
    fields = inner.fields if isinstance(inner, graphql.GraphQLInputObjectType) else {}
    parts = []
    for key, item_value in value.items():
        field = fields.get(key)
        parts.append(f"{key}: {literal(item_value, field.type if field else None)}")
    return "{" + ", ".join(parts) + "}"


def selection(
    draw: st.DrawFn,
    type_: graphql.GraphQLOutputType,
    depth: int = 0,
    avoid: frozenset[str] = frozenset(),
) -> str:
    named = graphql.get_named_type(type_)
    if isinstance(named, graphql.GraphQLScalarType | graphql.GraphQLEnumType):
        return ""
    if isinstance(named, graphql.GraphQLUnionType):
        members = draw(st.lists(st.sampled_from(named.types), max_size=2, unique=True))
        parts = ["__typename", "... on Error { code message }"]
        # Allocation.message (String) would conflict with Error.message (String!).
        taken = frozenset({"code", "message"})
        parts += [f"... on {m.name} {selection(draw, m, depth + 1, taken)}" for m in members]
        return "{ " + " ".join(parts) + " }"
    assert isinstance(named, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType)
    leaves = [
        n
        for n, f in named.fields.items()
        if not graphql.is_composite_type(graphql.get_named_type(f.type))
        and not f.args
        and n not in avoid
    ]
    chosen = (
        draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=4, unique=True))
        if leaves
        else []
    )
    if depth < 2:
        nested = [
            n
            for n, f in named.fields.items()
            if graphql.is_composite_type(graphql.get_named_type(f.type)) and not f.args
        ]
        if nested and draw(st.booleans()):
            name = draw(st.sampled_from(nested))
            chosen.append(f"{name} {selection(draw, named.fields[name].type, depth + 1)}")
    return "{ " + " ".join(["__typename", *chosen]) + " }"


@st.composite
def documents(draw: st.DrawFn, plausible: Plausible) -> dict[str, Any]:
    """A GraphQL request body built from the schema's root fields."""
    # Most documents are well formed (right types, every required argument) so
    # that they reach the resolvers, the rules, the upstreams and the store; the
    # others mix in wrong types, missing and unknown arguments.
    hostile = draw(st.sampled_from([False, False, True]))
    operation = draw(st.sampled_from(["query", "mutation"]))
    root = SCHEMA.query_type if operation == "query" else SCHEMA.mutation_type
    assert root is not None
    declarations: list[str] = []
    variables: dict[str, Any] = {}
    fields = []
    for index in range(draw(st.integers(1, 3 if hostile else 2))):
        name = draw(st.sampled_from(sorted(root.fields)))
        field = root.fields[name]
        alias = draw(st.none() | NAMES) if hostile else f"f{index}"
        arguments = []
        for arg_name, arg in field.args.items():
            ways = ["literal", "variable", "omit", "wrong"] if hostile else ["literal", "variable"]
            how = draw(st.sampled_from(ways))
            if how == "omit":
                continue
            if how == "wrong":
                arguments.append(f"{arg_name}: {literal(draw(ANY_JSON), None)}")
            elif how == "literal":
                value = some_value(draw, arg.type, plausible, hostile=hostile, name=arg_name)
                arguments.append(f"{arg_name}: {literal(value, arg.type)}")
            else:
                var = f"v{index}_{arg_name}"
                declared = str(arg.type)
                if hostile:
                    declared = draw(st.sampled_from([declared, declared, "String", "Int"]))
                declarations.append(f"${var}: {declared}")
                if not hostile or draw(st.integers(0, 5)):  # hostile: sometimes not sent
                    variables[var] = some_value(
                        draw, arg.type, plausible, hostile=hostile, name=arg_name
                    )
                arguments.append(f"{arg_name}: ${var}")
        if hostile and draw(st.integers(0, 9)) == 0:
            arguments.append(f"{draw(NAMES)}: 1")  # an argument the field does not have
        args = f"({', '.join(arguments)})" if arguments else ""
        prefix = f"{alias}: " if alias else ""
        fields.append(f"{prefix}{name}{args} {selection(draw, field.type)}")
    header = f"({', '.join(declarations)})" if declarations else ""
    query = f"{operation} Op{header} {{ {' '.join(fields)} }}"
    body: dict[str, Any] = {"query": query, "variables": variables}
    if draw(st.integers(0, 9)) == 0:
        # Names that exist, that do not (a clean 400), and of the wrong type.
        body["operationName"] = draw(st.sampled_from(["Op", "Nope", "", 1, None]))
    if hostile and draw(st.integers(0, 9)) == 0:
        body["variables"] = draw(ANY_JSON)
    return body


RANDOM_BODIES = st.one_of(
    ANY_JSON,
    # No "operationName" key: see the note in `documents`.
    st.dictionaries(st.sampled_from(["query", "variables", "x"]), ANY_JSON),
)


@settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_request_gets_a_500_or_writes_by_mistake(
    hostile_api: RunningApi, box: Sandbox, data: st.DataObject
) -> None:
    prisons = ["LEI", "MDI", "lei", "XXX"]
    plausible = Plausible(
        by_name={
            "offenderNo": [*box.data.prisoner_numbers("LEI")[:8], "A1234BC"],
            "staffId": box.data.pom_staff_ids("LEI"),
            "code": prisons,
            "prisonCode": prisons,
            "first": [0, 1, 10, 100, 101],
            "workingPattern": [0.1, 0.5, 1.0, 1.05],
            "comEmail": ["com@example.org"],
            "crn": ["X123456"],
        }
    )
    body = data.draw(
        st.one_of(documents(plausible), documents(plausible), RANDOM_BODIES), label="body"
    )
    db = hostile_api.settings.database_url or ""
    before = await table_counts(db)
    raw = json.dumps(body).encode()
    status, answer = await send(hostile_api, raw)
    errors = check_answer(status, answer)
    event(f"HTTP {status}")
    wrote = succeeded(body, answer)
    event("a mutation succeeded" if wrote else "nothing succeeded")
    if not wrote:
        assert await table_counts(db) == before, (body, answer)
    if status == 200 and not errors:
        assert isinstance(answer.get("data"), dict), answer


# --- explicit cases: the HTTP edge ----------------------------------------------------------


async def test_oversized_bodies_are_413_with_or_without_a_length(hostile_api: RunningApi) -> None:
    limit = hostile_api.settings.max_body_bytes
    padded = json.dumps({"query": "{ __typename }", "pad": "x" * (limit + 1)}).encode()
    status, body = await send(hostile_api, padded)
    assert status == 413
    assert body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to refuse on
        for _ in range(limit // 10_000 + 2):
            yield b" " * 10_000

    token = await hostile_api.token()
    async with hostile_api.http.post(
        f"{hostile_api.url}/graphql",
        data=chunks(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status == 413
        assert (await response.json())["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_one_megabyte_string_variable_is_413(hostile_api: RunningApi) -> None:
    no = "A1234BC"
    body = {"query": ALLOCATE, "variables": {"input": {"offenderNo": no, "staffId": 1}}}
    body["variables"]["input"]["message"] = "m" * 1_000_000
    db = hostile_api.settings.database_url or ""
    before = await table_counts(db)
    status, answer = await send(hostile_api, json.dumps(body).encode())
    assert status == 413
    check_answer(status, answer)
    assert await table_counts(db) == before


async def test_a_long_string_under_the_limit_is_a_typed_validation_error(
    hostile_api: RunningApi,
) -> None:
    no, pom = await ready_prisoner_and_pom(hostile_api)
    db = hostile_api.settings.database_url or ""
    before = await table_counts(db)
    message = "m" * 90_000
    status, answer = await send(
        hostile_api,
        json.dumps(
            {
                "query": ALLOCATE,
                "variables": {
                    "input": {"offenderNo": no, "staffId": pom["staffId"], "message": message}
                },
            }
        ).encode(),
    )
    assert status == 200
    check_answer(status, answer)
    payload = answer["data"]["allocatePrimaryPom"]
    assert (payload["__typename"], payload["code"]) == ("ValidationError", "TOO_LONG")
    assert await table_counts(db) == before


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/xml",
        "",
    ],
)
async def test_wrong_content_types_are_415(hostile_api: RunningApi, content_type: str) -> None:
    status, body = await send(hostile_api, b'{"query": "{ __typename }"}', content_type)
    assert status == 415, body
    check_answer(status, body)
    assert body["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"query": "{ __typename }\xff"}', id="invalid-utf8-in-string"),
        pytest.param(b"\xfe\xff\x00{\x00}", id="utf16-bom"),
        pytest.param(b'{"query": "\xc3\x28"}', id="invalid-2-byte-sequence"),
        pytest.param(b'{"query": "\xed\xa0\x80"}', id="encoded-surrogate"),
        pytest.param(b'{"query": "\\ud800"}', id="lone-surrogate-escape"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00" * 20, id="nul-bytes"),
        pytest.param(b'{"query": "{ __typename }"', id="truncated"),
        pytest.param(b'{"query": "{ __typename }"} trailing', id="trailing-garbage"),
        pytest.param(b'{"query": NaN}', id="nan"),
        pytest.param(b'{"query": "{ __typename }", "variables": {"x": 1e999}}', id="inf"),
    ],
)
async def test_bodies_that_are_not_json_are_400(hostile_api: RunningApi, raw: bytes) -> None:
    status, body = await send(hostile_api, raw)
    assert status == 400, body
    check_answer(status, body)


@pytest.mark.parametrize("depth", [64, 5_000, 20_000])
async def test_deeply_nested_variables_are_400(hostile_api: RunningApi, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    raw = (
        '{"query": "query($no: String!) { prisoner(offenderNo: $no) { offenderNo } }",'
        f' "variables": {{"no": {nested}}}}}'
    ).encode()
    status, body = await send(hostile_api, raw)
    assert status == 400, body
    check_answer(status, body)


@pytest.mark.parametrize("depth", [500, 2_000])
async def test_deeply_nested_input_objects_are_400(hostile_api: RunningApi, depth: int) -> None:
    nested = '{"offenderNo": ' * depth + '"A1234BC"' + "}" * depth
    raw = (
        '{"query": "mutation($input: DeallocateInput!) { deallocatePrimaryPom(input: $input)'
        f' {{ __typename }} }}", "variables": {{"input": {nested}}}}}'
    ).encode()
    status, body = await send(hostile_api, raw)
    assert status == 400, body
    check_answer(status, body)


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ('{ pom(staffId: 99999999999999999999999, prisonCode: "LEI") { staffId } }', {}),
        ('{ pom(staffId: 2147483648, prisonCode: "LEI") { staffId } }', {}),
        ('{ pom(staffId: -2147483649, prisonCode: "LEI") { staffId } }', {}),
        ('query($id: Int!) { pom(staffId: $id, prisonCode: "LEI") { staffId } }', {"id": 2**31}),
        ('query($id: Int!) { pom(staffId: $id, prisonCode: "LEI") { staffId } }', {"id": 2**62}),
        ('query($id: Int!) { pom(staffId: $id, prisonCode: "LEI") { staffId } }', {"id": 1.5}),
        (
            'query($n: Int) { prison(code: "LEI") { prisoners(first: $n) { totalCount } } }',
            {"n": 2**53 + 1},
        ),
        (
            ALLOCATE,
            {"input": {"offenderNo": "A1234BC", "staffId": 1, "expectedVersion": 2**40}},
        ),
    ],
)
async def test_integers_beyond_32_bits_are_refused_before_execution(
    hostile_api: RunningApi, document: str, variables: dict[str, Any]
) -> None:
    status, body = await send(
        hostile_api, json.dumps({"query": document, "variables": variables}).encode()
    )
    assert status == 400, body
    check_answer(status, body)


async def test_integers_beyond_64_bits_in_json_are_400(hostile_api: RunningApi) -> None:
    raw = (
        b'{"query": "query($id: Int!) { pom(staffId: $id, prisonCode: \\"LEI\\") { staffId } }",'
        b' "variables": {"id": 123456789012345678901234567890}}'
    )
    status, body = await send(hostile_api, raw)
    assert status == 400, body
    check_answer(status, body)


async def test_in_range_extremes_are_typed_answers(hostile_api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(hostile_api)
    db = hostile_api.settings.database_url or ""
    before = await table_counts(db)
    for extra in (
        {"expectedVersion": 2**31 - 1},
        {"staffId": 2**31 - 1},
        {"staffId": -(2**31)},
        {"expectedVersion": -(2**31)},
    ):
        variables = {"input": {"offenderNo": no, "staffId": pom["staffId"], **extra}}
        status, body = await send(
            hostile_api, json.dumps({"query": ALLOCATE, "variables": variables}).encode()
        )
        assert status == 200, body
        check_answer(status, body)
        payload = body["data"]["allocatePrimaryPom"]
        assert payload["__typename"] in {"ConflictError", "ValidationError", "NotFoundError"}, (
            extra,
            payload,
        )
    assert await table_counts(db) == before


@pytest.mark.parametrize(
    "offender_no",
    [
        "\u04101234\u0412\u0421",  # Cyrillic look-alikes of A, B, C
        "Ａ１２３４ＢＣ",  # full-width
        "A١٢٣٤BC",  # Arabic-Indic digits
        "A1234B\u0000",
        "A1234BC\u0000",
        "\u0000",
        "A1234BC\u200b",  # zero-width space
        "\U0001f600\U0001f600",
        "\u202eCB4321A",  # right-to-left override
        "A1234BÇ",
        "",
    ],
)
async def test_unicode_and_nul_in_offender_numbers_are_typed_errors(
    hostile_api: RunningApi, offender_no: str
) -> None:
    db = hostile_api.settings.database_url or ""
    before = await table_counts(db)
    query = "query($no: String!) { prisoner(offenderNo: $no) { offenderNo } }"
    status, body = await send(
        hostile_api, json.dumps({"query": query, "variables": {"no": offender_no}}).encode()
    )
    assert status == 200, body
    errors = check_answer(status, body)
    assert body["data"] == {"prisoner": None}
    assert [e["extensions"]["code"] for e in errors] == ["INVALID_OFFENDER_NO"]

    for mutation, root in (
        (ALLOCATE, "allocatePrimaryPom"),
        (
            """mutation($input: CaseInformationInput!) { updateCaseInformation(input: $input) {
                 __typename ... on Error { code } } }""",
            "updateCaseInformation",
        ),
    ):
        variables: dict[str, Any] = {"input": {"offenderNo": offender_no}}
        if root == "allocatePrimaryPom":
            variables["input"]["staffId"] = 485001
        status, body = await send(
            hostile_api, json.dumps({"query": mutation, "variables": variables}).encode()
        )
        assert status == 200, body
        check_answer(status, body)
        payload = body["data"][root]
        assert (payload["__typename"], payload["code"]) == (
            "ValidationError",
            "INVALID_OFFENDER_NO",
        )
    assert await table_counts(db) == before


@pytest.mark.parametrize(
    "field",
    ["message", "overrideDetail", "suitabilityDetail", "idempotencyKey"],
)
async def test_nul_bytes_in_stored_text_are_typed_and_write_nothing(
    hostile_api: RunningApi, field: str
) -> None:
    """Postgres text cannot hold U+0000: the store must refuse it as a typed error."""
    no, pom = await ready_prisoner_and_pom(hostile_api)
    db = hostile_api.settings.database_url or ""
    before = await table_counts(db)
    variables = {"input": {"offenderNo": no, "staffId": pom["staffId"], field: "a\u0000b"}}
    if field in ("overrideDetail", "suitabilityDetail"):
        variables["input"]["overrideReasons"] = ["OTHER", "SUITABILITY"]
    status, body = await send(
        hostile_api, json.dumps({"query": ALLOCATE, "variables": variables}).encode()
    )
    assert status == 200, body
    check_answer(status, body)
    payload = body["data"]["allocatePrimaryPom"]
    assert payload["__typename"] == "ValidationError", payload
    assert await table_counts(db) == before


async def test_nul_bytes_in_case_information_are_typed_and_write_nothing(
    hostile_api: RunningApi,
) -> None:
    no, _pom = await ready_prisoner_and_pom(hostile_api)
    db = hostile_api.settings.database_url or ""
    before = await table_counts(db)
    status, body = await send(
        hostile_api,
        json.dumps(
            {
                "query": """mutation($input: CaseInformationInput!) {
                    updateCaseInformation(input: $input) { __typename ... on Error { code } } }""",
                "variables": {"input": {"offenderNo": no, "tier": "B", "comName": "Jo\u0000e"}},
            }
        ).encode(),
    )
    assert status == 200, body
    check_answer(status, body)
    assert body["data"]["updateCaseInformation"]["__typename"] == "ValidationError", body
    assert await table_counts(db) == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"query": "query A { __typename }", "operationName": "B"}, id="unknown-name"),
        pytest.param({"query": "{ __typename }", "operationName": "A"}, id="name-for-anonymous"),
        pytest.param({"query": "query A { __typename }", "operationName": ""}, id="empty-name"),
        pytest.param({"query": "fragment F on Query { __typename }"}, id="no-operation"),
    ],
)
async def test_operations_the_document_does_not_hold_are_400(
    hostile_api: RunningApi, body: dict[str, Any]
) -> None:
    status, answer = await send(hostile_api, json.dumps(body).encode())
    assert status == 400, answer
    check_answer(status, answer)


async def test_other_methods_and_charsets_are_clean(hostile_api: RunningApi) -> None:
    token = await hostile_api.token()
    url = f"{hostile_api.url}/graphql"
    auth = {"Authorization": f"Bearer {token}"}
    for method in ("PUT", "DELETE", "PATCH"):
        async with hostile_api.http.request(method, url, data=b"{}", headers=auth) as response:
            assert response.status == 405, method
    async with hostile_api.http.post(
        url,
        data='{"query": "{ __typename }"}'.encode("utf-16"),
        headers={**auth, "Content-Type": "application/json; charset=utf-16"},
    ) as response:
        assert response.status == 400
        check_answer(response.status, await response.json())


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"Content-Length: abc\r\n", id="content-length-not-a-number"),
        pytest.param(b"Content-Length: -1\r\n", id="content-length-negative"),
        pytest.param(b"Content-Length: 99999999999999999999\r\n", id="content-length-huge"),
        pytest.param(b"Content-Length: 5\r\nContent-Length: 6\r\n", id="content-length-twice"),
    ],
)
async def test_broken_framing_is_refused_cleanly(hostile_api: RunningApi, head: bytes) -> None:
    """What aiohttp would never send: raw HTTP over a socket, answered < 500 or closed."""
    token = await hostile_api.token()
    host, port = hostile_api.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\n"
            + f"Authorization: Bearer {token}\r\n".encode()
            + head
            + b'\r\n{"query": "{ __typename }"}'
        )
        await writer.drain()
        async with asyncio.timeout(5):
            answer = await reader.read()
    finally:
        writer.close()
    if answer:  # a server may also just close a connection it cannot frame
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 500, answer[:300]
