"""`schema/fast_execution.py` on a small schema of its own: every uncommon outcome a planned
field can meet is answered exactly as plain strawberry on graphql-core answers it.

The running service's data rarely holds a null on a non-null field, a value that
does not serialise, or an exception as a value; here each is set up on purpose
and the fast executor's result (data and errors with their paths) must equal
the plain one.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Any

import pytest
import strawberry
from strawberry import Private

from allocation_api.errors import UpstreamUnavailable
from allocation_api.schema.build import build_schema
from allocation_api.schema.fast_execution import FastExecutionContext, install_fast_paths
from allocation_api.schema.markers import direct
from allocation_api.schema.unavailable import Unavailable, resolve_attribute
from allocation_api.settings import Settings


@strawberry.enum
class Colour(enum.Enum):
    RED = "RED"
    BLUE = "BLUE"


def _label(ctx: Any, source: Child) -> object:
    return source.behaviour(ctx)


@strawberry.type
class Child:
    name: str
    size: int | None
    colour: Colour | None
    behaviour: Private[Any]

    @strawberry.field(metadata=direct(_label))
    def label(self, info: strawberry.Info) -> str | None:
        return self.behaviour(info.context)  # type: ignore[no-any-return]

    @strawberry.field(metadata=direct(_label))
    def strict_label(self, info: strawberry.Info) -> str:
        return self.behaviour(info.context)  # type: ignore[no-any-return]


def _first_child(ctx: Any, source: Parent) -> object:
    if source.first is not None:
        return source.first(ctx)
    return source.children[0] if source.children else None


@strawberry.type
class Parent:
    title: str
    child: Child | None
    must_child: Child
    children: list[Child]
    maybe_children: list[Child | None] | None
    first: Private[Any] = None
    """Replaces `first_child`'s answer when set: called with the context."""

    @strawberry.field(metadata=direct(_first_child))
    def first_child(self, info: strawberry.Info) -> Child | None:
        return _first_child(info.context, self)  # type: ignore[return-value]


SCENARIOS: dict[str, Any] = {}


@strawberry.type
class Query:
    @strawberry.field
    def parent(self, scenario: str) -> Parent | None:
        return SCENARIOS[scenario]()  # type: ignore[no-any-return]


def _fine(ctx: Any) -> str:
    return "fine"


async def _later(ctx: Any) -> str:
    await asyncio.sleep(0)
    return "later"


def _boom(ctx: Any) -> str:
    raise ValueError("label failed")


async def _boom_later(ctx: Any) -> str:
    await asyncio.sleep(0)
    raise ValueError("label failed later")


async def _child_later(ctx: Any) -> Child:
    await asyncio.sleep(0)
    return child(name="later")


class Exploding:
    """A Child look-alike whose `name` cannot be read."""

    size = 1
    colour = Colour.RED
    behaviour = staticmethod(_fine)

    @property
    def name(self) -> str:
        raise RuntimeError("cannot read name")


def child(**overrides: Any) -> Child:
    values: dict[str, Any] = {
        "name": "kid",
        "size": 3,
        "colour": Colour.RED,
        "behaviour": _fine,
        **overrides,
    }
    return Child(**values)


def parent(**overrides: Any) -> Parent:
    values: dict[str, Any] = {
        "title": "p",
        "child": child(),
        "must_child": child(),
        "children": [child(), child(name="second")],
        "maybe_children": [child(), child(name="other")],
        **overrides,
    }
    return Parent(**values)


SCENARIOS.update(
    {
        "plain": lambda: parent(),
        "null_non_null_leaf": lambda: parent(child=child(name=None)),
        "null_non_null_leaf_in_non_null_object": lambda: parent(must_child=child(name=None)),
        "null_non_null_object": lambda: parent(must_child=None),
        "unserialisable_int": lambda: parent(child=child(size="abc")),
        "unserialisable_enum": lambda: parent(child=child(colour="GREEN")),
        "enum_as_raw_value": lambda: parent(child=child(colour="BLUE")),
        "exception_value": lambda: parent(child=child(size=ValueError("as a value"))),
        "exception_object": lambda: parent(child=ValueError("an object as a value")),
        "attribute_raises": lambda: parent(child=Exploding(), children=[child(), Exploding()]),
        "unavailable_leaf": lambda: parent(
            child=child(name=Unavailable(UpstreamUnavailable("down", upstream="prison-api")))
        ),
        "unavailable_object": lambda: parent(
            child=Unavailable(UpstreamUnavailable("down", upstream="prisoner-search"))
        ),
        "direct_async": lambda: parent(child=child(behaviour=_later)),
        "direct_raises": lambda: parent(child=child(behaviour=_boom)),
        "direct_raises_later": lambda: parent(child=child(behaviour=_boom_later)),
        "no_children": lambda: parent(children=[]),
        # An object resolved by a direct resolver (`firstChild`).
        "direct_object_raises": lambda: parent(first=_boom),
        "direct_object_async": lambda: parent(first=_child_later),
        "direct_object_raises_later": lambda: parent(first=_boom_later),
        "direct_object_look_alike": lambda: parent(first=lambda ctx: Exploding()),
        "direct_object_null_non_null_leaf": lambda: parent(first=lambda ctx: child(name=None)),
        "direct_object_leaf_raises_later": lambda: parent(
            first=lambda ctx: child(behaviour=_boom_later)
        ),
        "direct_object_unavailable": lambda: parent(
            first=lambda ctx: Unavailable(UpstreamUnavailable("down", upstream="prison-api"))
        ),
        # Lists of objects (completed inline when every item is a Child).
        "list_items_async": lambda: parent(
            children=[child(behaviour=_later), child(), child(behaviour=_later)]
        ),
        "list_item_raises_later": lambda: parent(children=[child(), child(behaviour=_boom_later)]),
        "list_item_null_non_null_leaf": lambda: parent(children=[child(), child(name=None)]),
        "list_item_null_non_null_leaf_later": lambda: parent(
            children=[child(behaviour=_later), child(name=None, behaviour=_later)]
        ),
        "nullable_list_item_null_non_null_leaf": lambda: parent(
            maybe_children=[child(name=None), child(), child(name=None, behaviour=_later)]
        ),
        "nullable_list_item_raises_later": lambda: parent(
            maybe_children=[child(behaviour=_boom_later), child(), child(behaviour=_later)]
        ),
        "none_in_non_null_list": lambda: parent(children=[child(), None]),
        "none_in_nullable_list": lambda: parent(maybe_children=[None, child()]),
        "null_nullable_list": lambda: parent(maybe_children=None),
        "tuple_list": lambda: parent(children=(child(), child(name="t"))),
        "exception_in_list": lambda: parent(maybe_children=[child(), ValueError("an item")]),
        "unavailable_list": lambda: parent(
            children=Unavailable(UpstreamUnavailable("down", upstream="prisoner-search"))
        ),
        "not_a_list": lambda: parent(maybe_children=child()),
    }
)

DOCUMENT = """query($s: String!) { parent(scenario: $s) {
  title alias: title
  child { name size colour label __typename }
  mustChild { name size label }
  children { name colour label strictLabel }
  maybeChildren { name size label strictLabel }
  firstChild { name label strictLabel }
  ... on Parent { child { name again: name } }
} }"""


def _schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    from strawberry.schema.config import StrawberryConfig

    config = StrawberryConfig(default_resolver=resolve_attribute)
    fast = strawberry.Schema(
        query=Query, config=config, execution_context_class=FastExecutionContext
    )
    install_fast_paths(fast)
    plain = strawberry.Schema(
        query=Query, config=StrawberryConfig(default_resolver=resolve_attribute)
    )
    return fast, plain


FAST, PLAIN = _schemas()


def _answer(result: Any) -> tuple[Any, list[tuple[Any, str]]]:
    errors = sorted((tuple(e.path or ()), e.message) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_fast_and_plain_execution_agree(scenario: str) -> None:
    fast = await FAST.execute(DOCUMENT, variable_values={"s": scenario}, context_value={})
    plain = await PLAIN.execute(DOCUMENT, variable_values={"s": scenario}, context_value={})
    assert _answer(fast) == _answer(plain)


async def test_the_scenarios_do_reach_the_uncommon_outcomes() -> None:
    """Guard: each failing scenario produces errors (so agreement means something)."""
    for scenario in SCENARIOS:
        result = await FAST.execute(DOCUMENT, variable_values={"s": scenario}, context_value={})
        expected_errors = scenario not in {
            "plain",
            "direct_async",
            "direct_object_async",
            "no_children",
            "enum_as_raw_value",
            "list_items_async",
            "none_in_nullable_list",
            "null_nullable_list",
            "tuple_list",
        }
        assert bool(result.errors) is expected_errors, (scenario, result.errors)


def test_the_service_schema_plans_its_fields() -> None:
    schema = build_schema(Settings(_env_file=None, mode="dev"))
    assert schema.execution_context_class is FastExecutionContext
    plain = build_schema(Settings(_env_file=None, mode="dev", fast_execution=False))
    assert plain.execution_context_class is not FastExecutionContext


@pytest.mark.parametrize(("scenario", "by_graphql_core"), [("plain", 0), ("tuple_list", 1)])
async def test_lists_of_objects_are_completed_inline_unless_unusual(
    scenario: str, by_graphql_core: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guard: the list scenarios above compare the inline list path, not graphql-core's
    twice (a tuple is not a `list`, so graphql-core completes that one)."""
    calls: list[str] = []
    original = FastExecutionContext.complete_list_value

    def counting(self: FastExecutionContext, *args: Any) -> Any:
        calls.append(args[2].field_name)
        return original(self, *args)

    monkeypatch.setattr(FastExecutionContext, "complete_list_value", counting)
    result = await FAST.execute(DOCUMENT, variable_values={"s": scenario}, context_value={})
    assert not result.errors
    assert len(calls) == by_graphql_core, calls


async def test_planned_objects_run_their_sub_selection_directly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Guard: below the root field, objects and list items skip graphql-core's
    `collect_and_execute_subfields` (the scenarios above then compare that path)."""
    calls: list[str] = []
    original = FastExecutionContext.collect_and_execute_subfields

    def counting(self: FastExecutionContext, return_type: Any, *args: Any) -> Any:
        calls.append(return_type.name)
        return original(self, return_type, *args)

    monkeypatch.setattr(FastExecutionContext, "collect_and_execute_subfields", counting)
    result = await FAST.execute(DOCUMENT, variable_values={"s": "plain"}, context_value={})
    assert not result.errors
    assert calls == ["Parent"]  # the root field's object: graphql-core completes it


async def test_plain_outcomes_complete_in_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard: plain leaves (read or direct-resolved) and objects complete in
    `execute_fields`' own loop; `_execute_inline` is for the other outcomes."""
    calls: list[str] = []
    original = FastExecutionContext._execute_inline

    def counting(self: FastExecutionContext, plan: Any, *args: Any) -> Any:
        calls.append(plan.field_def.ast_node.name.value if plan.field_def.ast_node else "?")
        return original(self, plan, *args)

    monkeypatch.setattr(FastExecutionContext, "_execute_inline", counting)
    result = await FAST.execute(DOCUMENT, variable_values={"s": "plain"}, context_value={})
    assert not result.errors
    assert calls == []
    await FAST.execute(DOCUMENT, variable_values={"s": "null_non_null_leaf"}, context_value={})
    assert calls  # a null in a non-null leaf does go there
