"""GraphQL query limits: every abusive document is refused before any resolver runs.

Each test runs a real strawberry schema (tiny, built here) with the
extensions of `allocation_api.schema.limits` and counts resolver calls; a
well-formed query is run alongside as the positive control.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

import pytest
import strawberry
from strawberry.types import ExecutionResult

from allocation_api.paging import page_bounds
from allocation_api.schema.limits import limit_extensions, production_extensions
from allocation_api.settings import Settings

resolver_calls: list[str] = []


@strawberry.enum
class Tier(enum.Enum):
    A = "A"
    B = "B"


@strawberry.type
class Node:
    @strawberry.field
    def child(self) -> Node:
        resolver_calls.append("child")
        return Node()

    @strawberry.field
    def items(self, first: int | None = None) -> list[int]:
        resolver_calls.append("items")
        return list(range(page_bounds(first, None, max_page_size=10)[1]))


@strawberry.type
class Query:
    @strawberry.field
    def node(self) -> Node:
        resolver_calls.append("node")
        return Node()

    @strawberry.field
    def hello(self) -> str:
        resolver_calls.append("hello")
        return "hi"

    @strawberry.field
    def by_tier(self, tier: Tier) -> str:
        resolver_calls.append("by_tier")
        return tier.value


def _settings(mode: str = "serve") -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        mode=mode,
        max_depth=5,
        max_tokens=200,
        max_aliases=3,
        max_page_size=10,
        max_operations=1,
    )


def _schema(mode: str = "serve") -> strawberry.Schema:
    settings = _settings(mode)
    return strawberry.Schema(
        Query, extensions=[*limit_extensions(settings), *production_extensions(settings)]
    )


PROD = _schema("serve")
DEV = _schema("dev")


@pytest.fixture(autouse=True)
def _reset_calls() -> Iterator[None]:
    resolver_calls.clear()
    yield
    resolver_calls.clear()


def _single_error(result: ExecutionResult) -> str:
    assert result.data is None
    assert result.errors is not None
    assert len(result.errors) == 1, [e.message for e in result.errors]
    return result.errors[0].message


def _code(result: ExecutionResult) -> str | None:
    assert result.errors
    return (result.errors[0].extensions or {}).get("code")


async def test_query_within_all_limits_runs() -> None:
    result = await PROD.execute("{ node { child { items(first: 3) } } }")

    assert result.errors is None
    assert result.data == {"node": {"child": {"items": [0, 1, 2]}}}
    assert resolver_calls == ["node", "child", "items"]


async def test_depth_bomb_is_refused_before_execution() -> None:
    query = "{ node { " + "child { " * 30 + "__typename" + " }" * 30 + " } }"

    result = await PROD.execute(query)

    assert "exceeds maximum operation depth of 5" in _single_error(result)
    assert resolver_calls == []


async def test_depth_limit_boundary() -> None:
    # Depth counts levels of fields, the root field being level 1:
    # node (1) > child (2..n+1) > __typename (n+2).
    def nested(children: int) -> str:
        return "{ node { " + "child { " * children + "__typename" + " }" * children + " } }"

    at_limit = await PROD.execute(nested(3))
    calls_at_limit = list(resolver_calls)
    one_over = await PROD.execute(nested(4))

    assert at_limit.errors is None
    assert calls_at_limit.count("child") == 3
    assert "maximum operation depth of 5" in _single_error(one_over)
    assert resolver_calls == calls_at_limit


async def test_depth_bomb_through_fragments_is_refused() -> None:
    query = (
        "{ node { ...A } } "
        "fragment A on Node { child { child { ...B } } } "
        "fragment B on Node { child { child { child { child { __typename } } } } }"
    )

    result = await PROD.execute(query)

    assert "maximum operation depth" in _single_error(result)
    assert resolver_calls == []


async def test_alias_bomb_is_refused_before_execution() -> None:
    query = "{ " + " ".join(f"a{i}: hello" for i in range(4)) + " }"

    result = await PROD.execute(query)

    assert _single_error(result) == "4 aliases found. Allowed: 3"
    assert resolver_calls == []


async def test_aliases_at_the_limit_are_allowed() -> None:
    result = await PROD.execute("{ a: hello b: hello c: hello }")

    assert result.errors is None
    assert resolver_calls == ["hello"] * 3


async def test_token_bomb_is_refused_while_parsing() -> None:
    query = "{ " + "hello " * 300 + "}"

    result = await PROD.execute(query)

    assert "Document contains more than 200 tokens" in _single_error(result)
    assert resolver_calls == []


async def test_two_operations_are_refused_even_with_an_operation_name() -> None:
    query = "query A { hello } query B { hello }"

    for operation_name in (None, "A"):
        result = await PROD.execute(query, operation_name=operation_name)

        message = _single_error(result)
        assert "contains 2 operations" in message
        assert "one operation may be sent per request" in message
        assert _code(result) == "TOO_MANY_OPERATIONS"
    assert resolver_calls == []


async def test_one_operation_with_fragments_is_allowed() -> None:
    result = await PROD.execute("query A { ...F } fragment F on Query { hello }")

    assert result.errors is None
    assert resolver_calls == ["hello"]


@pytest.mark.parametrize(
    ("literal", "code", "text"),
    [
        ("1000", "PAGE_SIZE_TOO_LARGE", "'first' may be at most 10 (got 1000)"),
        ("11", "PAGE_SIZE_TOO_LARGE", "'first' may be at most 10 (got 11)"),
        ("-1", "PAGE_SIZE_NEGATIVE", "'first' must not be negative (got -1)"),
    ],
)
async def test_literal_page_size_out_of_range_is_refused_at_validation(
    literal: str, code: str, text: str
) -> None:
    result = await PROD.execute(f"{{ node {{ items(first: {literal}) }} }}")

    assert text in _single_error(result)
    assert _code(result) == code
    assert resolver_calls == []


async def test_page_size_at_the_limit_is_allowed() -> None:
    result = await PROD.execute("{ node { items(first: 10) } }")

    assert result.errors is None
    assert result.data == {"node": {"items": list(range(10))}}


async def test_page_size_from_a_variable_is_refused_before_execution() -> None:
    query = "query Q($n: Int) { node { items(first: $n) } }"

    too_large = await PROD.execute(query, variable_values={"n": 1000})
    negative = await PROD.execute(query, variable_values={"n": -5})

    assert _single_error(too_large).startswith("Variable '$n': 'first' may be at most 10")
    assert _code(too_large) == "PAGE_SIZE_TOO_LARGE"
    assert _code(negative) == "PAGE_SIZE_NEGATIVE"
    assert resolver_calls == []


async def test_page_size_from_a_variable_default_is_refused() -> None:
    result = await PROD.execute("query Q($n: Int = 500) { node { items(first: $n) } }")

    assert "(got 500)" in _single_error(result)
    assert resolver_calls == []


async def test_page_size_from_a_variable_in_range_runs() -> None:
    query = "query Q($n: Int = 500) { node { items(first: $n) } }"

    result = await PROD.execute(query, variable_values={"n": 2})

    assert result.errors is None
    assert result.data == {"node": {"items": [0, 1]}}


INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_introspection_is_off_in_production() -> None:
    result = await PROD.execute(INTROSPECTION)

    assert result.data is None
    assert result.errors
    assert "introspection has been disabled" in result.errors[0].message


async def test_introspection_is_on_in_dev() -> None:
    result = await DEV.execute(INTROSPECTION)

    assert result.errors is None
    assert result.data == {"__schema": {"queryType": {"name": "Query"}}}


async def test_typename_still_works_in_production() -> None:
    result = await PROD.execute("{ __typename }")

    assert result.data == {"__typename": "Query"}


async def test_field_suggestions_are_hidden_in_production() -> None:
    prod = await PROD.execute("{ helo }")
    dev = await DEV.execute("{ helo }")

    assert _single_error(prod) == "Cannot query field 'helo' on type 'Query'."
    assert "Did you mean 'hello'?" in _single_error(dev)
    assert resolver_calls == []


async def test_enum_suggestions_are_hidden_in_production() -> None:
    literal = "{ byTier(tier: AA) }"
    variable = "query Q($t: Tier!) { byTier(tier: $t) }"

    prod_messages = [
        _single_error(await PROD.execute(literal)),
        _single_error(await PROD.execute(variable, variable_values={"t": "AA"})),
    ]
    dev_messages = [
        _single_error(await DEV.execute(literal)),
        _single_error(await DEV.execute(variable, variable_values={"t": "AA"})),
    ]

    assert all("Did you mean" in m for m in dev_messages), dev_messages
    assert not any("Did you mean" in m for m in prod_messages), prod_messages
    assert all("AA" in m for m in prod_messages)  # the rest of the message survives
    assert resolver_calls == []


def test_production_extensions_are_empty_in_dev() -> None:
    assert production_extensions(_settings("dev")) == []
    assert len(production_extensions(_settings("serve"))) == 2
