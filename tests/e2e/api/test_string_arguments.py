"""Every String argument of the schema, sent over-long, gets a typed refusal.

The test walks the schema (root arguments, input object fields, arguments of
nested fields reached through a path from `Query`) so that a String argument
added later is covered without editing it. Each over-long value (40 000
characters, inside the 100 kB body limit) must give an error or an error
payload with a code at that field, never INTERNAL, and must change nothing.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    build_schema,
    get_named_type,
)

from allocation_api.errors import ValidationFailed
from allocation_api.paging import decode_cursor, encode_cursor
from tests.conftest import RunningApi
from tests.e2e.api.helpers import active_poms, fresh_prisoner

LONG = "9" * 40_000
OVER_LONG_VALUES = {
    "plain": LONG,
    "cursor": encode_cursor(10**4)[:-4] + "9" * 40_000,
    "pos": base64.urlsafe_b64encode(b"pos:" + b"9" * 5000).decode(),
}


def _sdl_schema(api: RunningApi) -> GraphQLSchema:
    return build_schema(api.app.state.schema.as_str())


def _valid(kind: GraphQLInputType, name: str, known: dict[str, Any]) -> Any:
    """A valid value for a required argument or input field."""
    if isinstance(kind, GraphQLNonNull):
        return _valid(kind.of_type, name, known)
    if isinstance(kind, GraphQLList):
        return []
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {
            field_name: _valid(field.type, field_name, known)
            for field_name, field in kind.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    if name in known:
        return known[name]
    return {"Int": 1, "Float": 0.5, "Boolean": False, "String": "x"}[get_named_type(kind).name]


def _string_slots(argument: GraphQLArgument) -> list[list[str]]:
    """Paths inside one argument's value that take a String: [] is the argument itself."""
    named = get_named_type(argument.type)
    if named is GraphQLString:
        return [[]]
    if isinstance(named, GraphQLInputObjectType):
        return [
            [field_name]
            for field_name, field in named.fields.items()
            if get_named_type(field.type) is GraphQLString
        ]
    return []


def _selection(kind: Any) -> str:
    named = get_named_type(kind)
    if isinstance(named, GraphQLObjectType):
        return "{ __typename }"
    if hasattr(named, "types"):  # a union: the error payloads carry a code
        return "{ __typename ... on Error { code message } }"
    return ""


def _paths_to(schema: GraphQLSchema) -> dict[str, list[tuple[str, GraphQLField]]]:
    """For each object type, the shortest path of fields from Query that reaches it."""
    query = schema.query_type
    assert query is not None
    paths: dict[str, list[tuple[str, GraphQLField]]] = {query.name: []}
    frontier = [query]
    while frontier:
        nxt = []
        for kind in frontier:
            for name, field in kind.fields.items():
                target = get_named_type(field.type)
                if isinstance(target, GraphQLObjectType) and target.name not in paths:
                    paths[target.name] = [*paths[kind.name], (name, field)]
                    nxt.append(target)
        frontier = nxt
    return paths


def _args(
    field: GraphQLField, known: dict[str, Any], override: dict[str, str] | None = None
) -> str:
    parts = []
    for name, argument in field.args.items():
        if override is not None and name in override:
            parts.append(f"{name}: {override[name]}")
        elif isinstance(argument.type, GraphQLNonNull):
            value = _valid(argument.type, name, known)
            parts.append(f"{name}: {_literal(value)}")
    return f"({', '.join(parts)})" if parts else ""


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cases(schema: GraphQLSchema, known: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, document, variables) for every String slot of every argument."""
    cases: list[tuple[str, str, dict[str, Any]]] = []
    paths = _paths_to(schema)
    roots = [("query", schema.query_type), ("mutation", schema.mutation_type)]
    types = [(op, t) for op, t in roots if t is not None]
    types += [
        ("query", t)
        for t in schema.type_map.values()
        if isinstance(t, GraphQLObjectType)
        and t not in (schema.query_type, schema.mutation_type)
        and not t.name.startswith("__")
    ]
    for operation, kind in types:
        for field_name, field in kind.fields.items():
            for arg_name, argument in field.args.items():
                for slot in _string_slots(argument):
                    variable_type = str(argument.type)
                    if slot:
                        value: Any = _valid(argument.type, arg_name, known)
                        value[slot[0]] = OVER_LONG_VALUES["plain"]
                    else:
                        value = OVER_LONG_VALUES["cursor" if arg_name == "after" else "plain"]
                    inner = (
                        f"{field_name}{_args(field, known, {arg_name: '$v'})} "
                        f"{_selection(field.type)}"
                    )
                    if kind in (schema.query_type, schema.mutation_type):
                        document = inner
                    else:
                        if kind.name not in paths:
                            continue
                        document = inner
                        for step_name, step in reversed(paths[kind.name]):
                            document = f"{step_name}{_args(step, known)} {{ {document} }}"
                    label = f"{kind.name}.{field_name}({arg_name}{'.' + slot[0] if slot else ''})"
                    cases.append(
                        (
                            label,
                            f"{operation} Long($v: {variable_type}) {{ {document} }}",
                            {"v": value},
                        )
                    )
                    if arg_name == "after":
                        cases.append(
                            (
                                label + " pos:99..9",
                                f"{operation} Long($v: {variable_type}) {{ {document} }}",
                                {"v": OVER_LONG_VALUES["pos"]},
                            )
                        )
    return cases


def _refusal(body: dict[str, Any], label: str) -> str:
    """The code of the refusal in `body` (an error, or an error payload), INTERNAL excluded."""
    errors = body.get("errors") or []
    codes = [e.get("extensions", {}).get("code") for e in errors]
    assert "INTERNAL" not in codes, (label, errors)
    if errors:
        assert all(isinstance(c, str) for c in codes), (label, errors)
        assert all(e.get("path") for e in errors), (label, errors)
        assert all(len(e["message"]) < 500 for e in errors), (label, "message echoes the value")
        return str(codes[0])
    payloads = [v for v in (body.get("data") or {}).values() if isinstance(v, dict)]
    assert payloads, (label, body)
    assert "code" in payloads[0], (label, body)
    assert len(payloads[0]["message"]) < 500, (label, "message echoes the value")
    return str(payloads[0]["code"])


async def test_every_string_argument_refuses_an_over_long_value(api: RunningApi) -> None:
    schema = _sdl_schema(api)
    poms = await active_poms(api, "LEI")
    known = {
        "code": "LEI",
        "prisonCode": "LEI",
        "offenderNo": await fresh_prisoner(api),
        "staffId": poms[0]["staffId"],
    }
    cases = _cases(schema, known)
    labels = {label for label, _, _ in cases}
    # The walk reaches the arguments the issue names, nested ones included.
    for expected in (
        "Query.prisoner(offenderNo)",
        "Query.prison(code)",
        "Query.pom(prisonCode)",
        "Prison.prisoners(after)",
        "Pom.caseload(after)",
        "Mutation.allocatePrimaryPom(input.message)",
        "Mutation.updateCaseInformation(input.crn)",
    ):
        assert expected in labels, sorted(labels)
    refused: dict[str, str] = {}
    for label, document, variables in cases:
        status, body = await api.post(
            {"query": document, "variables": variables}, token=await api.token()
        )
        assert status in (200, 400), (label, status, body)
        assert isinstance(body, dict), (label, body)
        refused[label] = _refusal(body, label)
    after = await api.gql(
        "query($no: String!) { prisoner(offenderNo: $no) { allocation { version } "
        "caseInformation { tier } } }",
        {"no": known["offenderNo"]},
    )
    assert after["data"]["prisoner"] == {"allocation": None, "caseInformation": None}, after
    assert refused["Prison.prisoners(after) pos:99..9"] == "INVALID_CURSOR"
    assert refused["Pom.caseload(after) pos:99..9"] == "INVALID_CURSOR"
    assert refused["Query.prisoner(offenderNo)"] == "INVALID_OFFENDER_NO"


@pytest.mark.parametrize("digits", [18, 19, 5000])
def test_a_cursor_past_any_real_position_is_invalid_not_internal(digits: int) -> None:
    cursor = base64.urlsafe_b64encode(b"pos:" + b"9" * digits).decode()
    with pytest.raises(ValidationFailed) as refused:
        decode_cursor(cursor)
    assert refused.value.code == "INVALID_CURSOR"
