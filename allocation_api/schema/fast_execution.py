"""Every use of graphql-core's and strawberry's internals, in one module.

graphql-core's executor methods and strawberry's execution context are not
public API: they change between minor releases and patch releases (3.3.1 and
3.3.2 changed `collect_subfields` and `execute_field`). The rest of the
service uses the libraries' public API only; this module is imported by
`schema/build.py` alone, lazily, and only after its imports succeed and
`drift()` finds the library functions it mirrors unchanged (see "Pinned
ground" below); otherwise the service runs on plain strawberry, whose answers
are the same.

## Fast execution

A 50-prisoner page completes about 400 fields. graphql-core alone spends
about 10 µs on each (a Path, a GraphQLResolveInfo, the resolver call,
`complete_value`'s type dispatch); strawberry adds its own layers on top (an
`Info` per resolver call, argument conversion, the extension chain). Profiles
showed that machinery, not our resolvers, was most of the CPU of a page.

What changes, decided once per schema by `install_fast_paths`:

- **Planned fields run inline.** A field with no arguments, permission
  classes or extensions, resolved by an attribute or by a `direct(fn)`
  function (`schema/markers.py`), whose type is a scalar, an enum or an
  object type without an `is_type_of` check, is executed by
  `FastExecutionContext` itself: the value is read (or `fn(context, source)`
  called), then a leaf is serialised or an object's sub-selection run, with
  no GraphQLResolveInfo, no strawberry `Info`, no Path unless a child needs
  one, and no `complete_value` dispatch. Anything unusual (an awaitable, an
  `Unavailable` marker, null on a non-null field, a value that does not
  serialise, an error) goes to graphql-core's own completion and error
  handling with a real info object, so errors, nulls and their paths are
  exactly graphql-core's.
- **Lists of such objects** (a page's `nodes`) are completed inline too when
  the value is a `list` whose items are all instances of the object type's
  class: each item's sub-selection runs directly, with graphql-core's list
  error handling; any other list goes to graphql-core (unless the schema has
  `@stream`, which lists then always do).
- **Resolvers of the other simple fields** call the attribute or `fn`
  directly, skipping strawberry's `Info` and extension chain.

Everything else (root fields, permission-checked fields, fields with
arguments, mutations, introspection) runs through strawberry unchanged.
`tests/e2e/api/test_fast_execution.py` runs the same documents with and without
these paths and requires identical responses, errors included.

## Validation cached by document identity

`DocumentValidationCache` (see its doc) runs strawberry's validation once
per parsed document and rule set.

## Pinned ground

`MIRRORED` names each library function whose behaviour this module repeats
or relies on, as the execution context class strawberry uses resolves it
(so a new strawberry override of a graphql-core method counts as a change).
`PINNED` holds a fingerprint of each: sha256 of its source parsed with `ast`,
docstrings dropped and unparsed again, so formatting, comments and
docstrings do not count and code does. `drift()` compares them; the test
`tests/schema/test_fast_execution_pins.py` fails on any difference. After an
upgrade changes one, review the change against the code here, then re-pin
with `python -m allocation_api.schema.fast_execution` (it prints the new
`PINNED`).
"""

from __future__ import annotations

import ast
import datetime as dt
import enum
import functools
import hashlib
import importlib
import importlib.metadata
import inspect
import sys
import textwrap
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import strawberry
from graphql import (
    DocumentNode,
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLString,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext, validate_document
from strawberry.schema.schema_converter import CustomGraphQLEnumType
from strawberry.types.field import StrawberryField

from allocation_api.caching import BoundedMemo
from allocation_api.schema.markers import DIRECT, DirectResolver
from allocation_api.schema.unavailable import Unavailable, resolve_attribute

INLINE = "allocation_api.inline"
"""GraphQLObjectType extensions key: field name -> `_Inline` plan of a field executed inline."""

STRAWBERRY_DEFINITION = "strawberry-definition"


class _Kind(enum.Enum):
    LEAF = "leaf"
    OBJECT = "object"
    OBJECT_LIST = "object list"


@dataclass(frozen=True, slots=True)
class _Inline:
    """How to execute one field inline: resolve, then serialise a leaf or run an
    object's sub-selection, without a Path unless needed, a GraphQLResolveInfo
    unless needed, or `complete_value`'s type dispatch."""

    field_def: GraphQLField
    kind: _Kind
    nullable: bool
    named_type: GraphQLNamedType
    attribute: str | None
    """Python attribute read by `resolve_attribute`; None when `direct` resolves."""
    direct: DirectResolver | None
    serialize: Callable[[Any], Any] | None = None
    """LEAF: the leaf type's serialiser."""
    plain: frozenset[type] = frozenset()
    """LEAF: value types that are neither awaitable nor an exception: serialised at once."""
    unchanged: frozenset[type] = frozenset()
    """LEAF: value types the serialiser returns as they are (str for String/ID,
    bool for Boolean): no call needed."""
    item_type: Any = None
    """OBJECT_LIST: the list's item type as declared (maybe non-null)."""
    item_class: type | None = None
    """OBJECT: the Python class of values known to be plain objects (neither
    awaitable nor an exception), completed without checking. OBJECT_LIST: the
    class of the items completed inline; a list holding anything else (None, an
    exception, an awaitable) goes to graphql-core."""


def _plan(
    field_def: GraphQLField, attribute: str | None, fn: DirectResolver | None
) -> _Inline | None:
    """The inline plan of a field resolved by `attribute` or by `fn`, if its type has one."""
    nullable = not is_non_null_type(field_def.type)
    named = field_def.type if nullable else field_def.type.of_type  # type: ignore[union-attr]
    if is_leaf_type(named):
        plain = _PLAIN_SCALARS
        if isinstance(named, CustomGraphQLEnumType):
            plain = plain | {named.wrapped_cls}
        return _Inline(
            field_def,
            _Kind.LEAF,
            nullable,
            named,
            attribute,
            fn,
            serialize=_serializer(named),
            plain=plain,
            unchanged=_unchanged_by(named),
        )
    if isinstance(named, GraphQLObjectType) and named.is_type_of is None:
        return _Inline(
            field_def, _Kind.OBJECT, nullable, named, attribute, fn, item_class=_plain_class(named)
        )
    if isinstance(named, GraphQLList) and (items := _object_items(named)) is not None:
        item_type, item_object, item_class = items
        return _Inline(
            field_def,
            _Kind.OBJECT_LIST,
            nullable,
            item_object,
            attribute,
            fn,
            item_type=item_type,
            item_class=item_class,
        )
    return None  # abstract types, type checks, lists of those: graphql-core completes them


def _object_items(list_type: GraphQLList[Any]) -> tuple[Any, GraphQLObjectType, type] | None:
    """(item type, its object type, the items' Python class) of a list of strawberry
    objects without an `is_type_of` check; None for any other list."""
    item_type = list_type.of_type
    named = item_type.of_type if is_non_null_type(item_type) else item_type
    if not isinstance(named, GraphQLObjectType) or named.is_type_of is not None:
        return None
    origin = _plain_class(named)
    return None if origin is None else (item_type, named, origin)


def _plain_class(object_type: GraphQLObjectType) -> type | None:
    """The strawberry class behind `object_type`, if its instances can be neither
    awaitable nor exceptions (so an instance needs no checking before completion)."""
    definition = object_type.extensions.get(STRAWBERRY_DEFINITION)
    origin = getattr(definition, "origin", None)
    if not isinstance(origin, type) or issubclass(origin, BaseException):
        return None
    return None if hasattr(origin, "__await__") else origin


_PLAIN_SCALARS: frozenset[type] = frozenset({str, int, float, bool, dt.date, dt.datetime})
"""Types of scalar values that can be neither awaitable nor an exception."""


def _serializer(leaf: Any) -> Callable[[Any], Any]:
    """The leaf type's serialiser; for strawberry enums, a dict lookup of the member.

    Strawberry's enum serialiser scans every value of the enum comparing
    `.value`s (enum property access) for each member it serialises; the
    lookup answers the same name, and anything not a member goes to it.
    """
    if not isinstance(leaf, CustomGraphQLEnumType):
        return leaf.serialize  # type: ignore[no-any-return]
    members: list[enum.Enum] = list(leaf.wrapped_cls)
    names = {
        member: name
        for member in members
        for name, value in leaf.values.items()
        if member.value == value.value
    }
    fallback = leaf.serialize

    def serialize(value: Any) -> Any:
        name = names.get(value) if type(value) is leaf.wrapped_cls else None
        return fallback(value) if name is None else name

    return serialize


def _attribute_resolver(python_name: str) -> Callable[..., object]:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> object:
        return resolve_attribute(source, python_name)

    resolve._is_default = True  # type: ignore[attr-defined]  # strawberry's tracing marker
    return resolve


def _context_resolver(fn: DirectResolver) -> Callable[..., object]:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> object:
        return fn(info.context, source)

    return resolve


def install_fast_paths(strawberry_schema: strawberry.Schema) -> None:
    """Decide, once, which fields of the schema take the fast paths (see the module doc).

    The schema must have been made with `execution_context_class=FastExecutionContext`.
    """
    schema = strawberry_schema._schema
    attribute_default = strawberry_schema.config.default_resolver is resolve_attribute
    # @stream completes lists incrementally; with it in the schema, lists stay graphql-core's.
    streams = schema.get_directive("stream") is not None
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        inline: dict[str, _Inline] = {}
        for name, field_def in graphql_type.fields.items():
            definition = field_def.extensions.get(STRAWBERRY_DEFINITION)
            if not isinstance(definition, StrawberryField):
                continue
            if definition.extensions or field_def.args:
                continue  # permission classes, extensions or arguments: strawberry decides
            attribute: str | None = None
            fn: DirectResolver | None = None
            if definition.base_resolver is not None:
                fn = definition.metadata.get(DIRECT)
                if fn is None:
                    continue
                field_def.resolve = _context_resolver(fn)
            elif attribute_default:
                attribute = definition.python_name
                field_def.resolve = _attribute_resolver(attribute)
            else:
                continue
            plan = _plan(field_def, attribute, fn)
            if plan is not None and not (streams and plan.kind is _Kind.OBJECT_LIST):
                inline[name] = plan
        if inline:
            graphql_type.extensions = {**graphql_type.extensions, INLINE: inline}


class _Step(NamedTuple):
    """One field of a selection, as `execute_fields` walks it (see `_steps`)."""

    response_name: str
    field_details_list: FieldDetailsList
    plan: _Inline | None = None
    """None: graphql-core's `execute_field` runs the field."""
    leaf_attribute: str | None = None
    """Set for a leaf read from an attribute: completed in the loop when plain."""
    nullable: bool = False
    plain: frozenset[type] = frozenset()
    serialize: Callable[[Any], Any] | None = None
    unchanged: frozenset[type] = frozenset()
    object_steps: list[_Step] | None = None
    """For an object field: the steps of its sub-selection (`_sub_steps`), run in
    the loop when the value is a plain instance of the object's class."""


def _path(prev: Path | None, key: str | int, typename: str | None) -> Path:
    """`Path(prev, key, typename)` without the namedtuple's Python-level `__new__`
    (a few hundred per page showed in the profile)."""
    return _new_tuple(Path, (prev, key, typename))


_new_tuple: Callable[[type[Path], tuple[Any, ...]], Path] = tuple.__new__

_NEVER_AWAITABLE: frozenset[type] = frozenset({str, int, float, bool, dict, list, type(None)})


T = TypeVar("T", dict[str, Any], list[Any])


def _settled(values: T, keys: list[Any]) -> AwaitableOrValue[T]:
    """`values` (a dict of fields or a list of items) once each awaitable
    `values[key]` is replaced by its result, concurrently when several: at once
    when `keys` is empty, else as an awaitable, as graphql-core settles the
    awaitable fields of an object or items of a list."""
    if not keys:
        return values

    async def settle() -> T:
        if len(keys) == 1:
            values[keys[0]] = await values[keys[0]]
            return values
        awaited = await gather_with_cancel(*(values[key] for key in keys))
        for key, value in zip(keys, awaited, strict=True):
            values[key] = value
        return values

    return settle()


def _unchanged_by(leaf: Any) -> frozenset[type]:
    """Value types graphql-core's serialiser of `leaf` returns as they are."""
    if leaf is GraphQLString or leaf is GraphQLID:
        return frozenset({str})
    if leaf is GraphQLBoolean:
        return frozenset({bool})
    return frozenset()


def _async_helpers(executor: weakref.ref[FastExecutionContext]) -> GraphQLResolveInfoHelpers:
    """graphql-core's resolver helpers, holding the executor weakly.

    graphql-core stores two bound methods of the executor on the executor
    itself, a reference cycle: every request's executor, and everything it
    reaches (the context, the loaders, the data they read), outlived the
    request until the cyclic garbage collector found it, which made that
    collector run every few hundred requests and traverse tens of thousands of
    dead objects each time. The executor is alive while its resolvers run.
    """

    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        return gather_with_cancel(*values)

    def track(values: Sequence[Any]) -> None:
        alive = executor()
        if alive is not None:
            alive.track_async_work(values)

    return GraphQLResolveInfoHelpers(gather=gather, track=track)


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor with planned fields (`install_fast_paths`) executed inline."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = _async_helpers(weakref.ref(self))

    _steps_by_field_set: dict[int, tuple[GroupedFieldSet, GraphQLObjectType, list[_Step] | None]]
    """Made on first use (`_steps`): graphql-core builds the context, not us."""
    _sub_steps_by_fields: dict[int, tuple[FieldDetailsList, GraphQLObjectType, list[_Step] | None]]
    """Made on first use (`_sub_steps`)."""

    def _steps(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[_Step] | None:
        """The fields of a selection, each with its plan, worked out once per execution.

        graphql-core memoises a sub-selection's grouped field set per field (so
        the 50 nodes of a page share one); keyed by its identity (the entry keeps
        it alive), the per-field lookups are done once, not once per node. None:
        no plans for this type, or middleware to honour (graphql-core runs it).
        """
        cache = self.__dict__.get("_steps_by_field_set")
        if cache is None:
            cache = self._steps_by_field_set = {}
        entry = cache.get(id(grouped_field_set))
        if entry is not None and entry[0] is grouped_field_set and entry[1] is parent_type:
            return entry[2]
        plans: Mapping[str, _Inline] | None = parent_type.extensions.get(INLINE)
        manager = self.middleware_manager  # strawberry always passes one, often empty
        steps: list[_Step] | None = None
        if plans is not None and not (manager is not None and manager.middlewares):
            steps = []
            for response_name, field_details_list in grouped_field_set.items():
                plan = plans.get(field_details_list[0].node.name.value)
                if plan is None:
                    steps.append(_Step(response_name, field_details_list))
                    continue
                object_steps = None
                if plan.kind is _Kind.OBJECT and plan.item_class is not None:
                    object_steps = self._sub_steps(
                        plan.named_type,  # type: ignore[arg-type]
                        field_details_list,
                    )
                steps.append(
                    _Step(
                        response_name,
                        field_details_list,
                        plan,
                        plan.attribute if plan.kind is _Kind.LEAF else None,
                        plan.nullable,
                        plan.plain,
                        plan.serialize,
                        plan.unchanged,
                        object_steps,
                    )
                )
        cache[id(grouped_field_set)] = (grouped_field_set, parent_type, steps)
        return steps

    def _sub_steps(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> list[_Step] | None:
        """The steps of the sub-selection `field_details_list` makes on `object_type`,
        when `_run_steps` can run it directly; None: `collect_and_execute_subfields`.

        graphql-core's path for an object value is `collect_subfields` (memoised
        on the same identity), then `execute_collected_subfields`, which calls
        `execute_fields` when nothing is deferred; three calls and two lookups
        per object, 150 objects a page. Keyed by the field list's identity (the
        entry keeps it alive), worked out once per execution. Callers check
        that no delivery group is open (`position_context is None`).
        """
        cache = self.__dict__.get("_sub_steps_by_fields")
        if cache is None:
            cache = self._sub_steps_by_fields = {}
        entry = cache.get(id(field_details_list))
        if entry is not None and entry[0] is field_details_list and entry[1] is object_type:
            return entry[2]
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(
            object_type, field_details_list
        )
        steps = None if new_defer_usages else self._steps(object_type, grouped_field_set)
        cache[id(field_details_list)] = (field_details_list, object_type, steps)
        return steps

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        steps = self._steps(parent_type, grouped_field_set)
        if steps is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        return self._run_steps(parent_type, source_value, path, steps, position_context)

    def _run_steps(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        steps: list[_Step],
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core 3.3's `execute_fields`, with planned fields executed inline.

        Leaves read from an attribute, and the plain outcomes of the other planned
        fields (a plain leaf, an instance of the object type's class, whose
        sub-selection's steps run at once), are completed in the loop itself; a
        page's 50 nodes make about 200 such fields. Everything else goes to
        `_execute_inline` / `_complete_inline`, with the same error handling.
        """
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        result: Any
        completed: Any
        try:
            for (
                response_name,
                field_details_list,
                plan,
                leaf_attribute,
                nullable,
                plain,
                serialize,
                unchanged,
                object_steps,
            ) in steps:
                if plan is not None:
                    if leaf_attribute is not None:
                        # The commonest field of all, without a call: an attribute
                        # holding a plain value. Anything else, failures included,
                        # goes to `_execute_inline`, which reads the attribute again
                        # (reading has no effects) and handles it as graphql-core does.
                        try:
                            value = getattr(source_value, leaf_attribute)
                            if value is None:
                                if nullable:
                                    results[response_name] = None
                                    continue
                            elif type(value) in unchanged:
                                results[response_name] = value
                                continue
                            elif type(value) in plain:
                                serialized = serialize(value)  # type: ignore[misc]
                                if serialized is not None and serialized is not Undefined:
                                    results[response_name] = serialized
                                    continue
                        except Exception:  # noqa: S110 - the general path decides, below
                            pass
                        result = self._execute_inline(
                            plan,
                            parent_type,
                            source_value,
                            field_details_list,
                            path,
                            response_name,
                            position_context,
                        )
                    else:
                        # Objects and direct-resolved leaves: resolved once, here;
                        # the common outcomes (an object's sub-selection, a plain
                        # leaf) completed in the loop, the rest by `_complete_inline`,
                        # as `_execute_inline` would.
                        try:
                            value = self._resolve_inline(plan, source_value)
                        except Exception as raw_error:
                            self.handle_field_error(
                                raw_error,
                                plan.field_def.type,
                                field_details_list,
                                _path(path, response_name, parent_type.name),
                            )
                            results[response_name] = None
                            continue
                        if (
                            object_steps is not None
                            and type(value) is plan.item_class
                            and position_context is None
                        ):
                            field_path = _path(path, response_name, parent_type.name)
                            try:
                                completed = self._run_steps(
                                    plan.named_type,  # type: ignore[arg-type]
                                    value,
                                    field_path,
                                    object_steps,
                                    None,
                                )
                            except Exception as raw_error:
                                self.handle_field_error(
                                    raw_error, plan.field_def.type, field_details_list, field_path
                                )
                                completed = None
                            if completed is None or type(completed) is dict:
                                results[response_name] = completed
                                continue
                            result = self._await_completed(
                                completed, plan.field_def.type, field_details_list, field_path
                            )
                        else:
                            if type(value) in plain:
                                serialized = serialize(value)  # type: ignore[misc]
                                if serialized is not None and serialized is not Undefined:
                                    results[response_name] = serialized
                                    continue
                            result = self._complete_inline(
                                plan,
                                value,
                                parent_type,
                                field_details_list,
                                path,
                                response_name,
                                position_context,
                            )
                else:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        field_details_list,
                        _path(path, response_name, parent_type.name),
                        position_context,
                    )
                    if result is Undefined:
                        continue
                results[response_name] = result
                if type(result) not in _NEVER_AWAITABLE and is_awaitable(result):
                    awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise

        return _settled(results, awaitable_fields)

    def _execute_inline(
        self,
        plan: _Inline,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        parent_path: Path | None,
        response_name: str,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """`execute_field` for a planned field. The common outcomes (a serialisable
        leaf, null on a nullable field, an object to run the sub-selection on) are
        handled here; anything else goes to graphql-core's own completion with a
        real info object, and every error is handled by `handle_field_error` at the
        field's path, exactly as `execute_field` does."""
        try:
            value = self._resolve_inline(plan, source)
        except Exception as raw_error:
            path = _path(parent_path, response_name, parent_type.name)
            self.handle_field_error(raw_error, plan.field_def.type, field_details_list, path)
            return None
        return self._complete_inline(
            plan,
            value,
            parent_type,
            field_details_list,
            parent_path,
            response_name,
            position_context,
        )

    def _resolve_inline(self, plan: _Inline, source: Any) -> Any:
        """A planned field's value: its attribute (an `Unavailable` marker raises its
        error) or its direct resolver's answer."""
        if plan.attribute is not None:
            value = getattr(source, plan.attribute)
            if type(value) is Unavailable:
                raise value.error
            return value
        return plan.direct(self.context_value, source)  # type: ignore[misc]

    def _complete_inline(
        self,
        plan: _Inline,
        value: Any,
        parent_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        parent_path: Path | None,
        response_name: str,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """The completion half of `_execute_inline`, for a value already resolved."""
        path: Path | None = None
        try:
            if value is None:
                if plan.nullable:
                    return None
            elif plan.kind is _Kind.LEAF:
                if type(value) in plan.plain or (
                    not isinstance(value, Exception) and not self.is_awaitable(value)
                ):
                    serialized = plan.serialize(value)  # type: ignore[misc]
                    if serialized is not None and serialized is not Undefined:
                        return serialized
            elif plan.kind is _Kind.OBJECT_LIST:
                if type(value) is list and all(type(item) is plan.item_class for item in value):
                    path = _path(parent_path, response_name, parent_type.name)
                    listed = self._complete_object_list(
                        plan, value, field_details_list, path, position_context
                    )
                    if self.is_awaitable(listed):
                        return self._await_completed(
                            listed, plan.field_def.type, field_details_list, path
                        )
                    return listed
            elif type(value) is plan.item_class or (
                not isinstance(value, Exception) and not self.is_awaitable(value)
            ):
                path = _path(parent_path, response_name, parent_type.name)
                object_type: GraphQLObjectType = plan.named_type  # type: ignore[assignment]
                steps = (
                    None
                    if position_context is not None
                    else self._sub_steps(object_type, field_details_list)
                )
                if steps is not None:
                    completed = self._run_steps(object_type, value, path, steps, None)
                else:
                    completed = self.collect_and_execute_subfields(
                        object_type, field_details_list, path, value, position_context
                    )
                if type(completed) is dict:  # the sub-selection finished synchronously
                    return completed
                if self.is_awaitable(completed):
                    return self._await_completed(
                        completed, plan.field_def.type, field_details_list, path
                    )
                return completed
            # The uncommon outcomes: graphql-core completes (and raises) as it always does.
            path = path or _path(parent_path, response_name, parent_type.name)
            info = self.build_resolve_info(
                plan.field_def, to_nodes(field_details_list), parent_type, path
            )
            return_type = plan.field_def.type
            if self.is_awaitable(value):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, value, position_context
                )
            completed = self.complete_value(
                return_type, field_details_list, info, path, value, position_context
            )
            if self.is_awaitable(completed):
                return self._await_completed(
                    completed, plan.field_def.type, field_details_list, path
                )
            return completed
        except Exception as raw_error:
            path = path or _path(parent_path, response_name, parent_type.name)
            self.handle_field_error(raw_error, plan.field_def.type, field_details_list, path)
            return None

    def _complete_object_list(
        self,
        plan: _Inline,
        items: list[Any],
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        """graphql-core's `complete_iterable_value` for a list whose items are all
        `plan.item_class` objects: each item's sub-selection runs directly, with
        `complete_list_item_value`'s error handling at the item's path (an error
        under a non-null item nulls the list, as there)."""
        object_type: GraphQLObjectType = plan.named_type  # type: ignore[assignment]
        item_type = plan.item_type
        is_awaitable = self.is_awaitable
        steps = (
            None
            if position_context is not None
            else self._sub_steps(object_type, field_details_list)
        )
        run_steps = self._run_steps
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                item_path = _path(path, index, None)
                try:
                    if steps is not None:
                        done = run_steps(object_type, item, item_path, steps, None)
                    else:
                        done = self.collect_and_execute_subfields(
                            object_type, field_details_list, item_path, item, position_context
                        )
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    completed.append(None)
                    continue
                if type(done) is not dict and is_awaitable(done):
                    completed.append(
                        self._await_completed(done, item_type, field_details_list, item_path)
                    )
                    awaitable_indices.append(index)
                else:
                    completed.append(done)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed[index] for index in awaitable_indices])
            raise

        return _settled(completed, awaitable_indices)

    async def _await_completed(
        self,
        completed: Awaitable[Any],
        return_type: Any,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        """Await a field's (or list item's) completion; an error is handled at `path`."""
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None


# --- Validation cached by document identity ---------------------------------

ValidationResults = BoundedMemo[
    tuple[int, tuple[type, ...]], tuple[DocumentNode, list[GraphQLError]]
]
"""Shared by every request: (id of the document, the rules) -> (document, errors)."""


class DocumentValidationCache(SchemaExtension):
    """Runs validation once per parsed document and rule set (one instance per request).

    strawberry's `ValidationCache` keys an `lru_cache` on the DocumentNode, and a
    graphql-core node's hash walks the whole syntax tree: every request paid for
    hashing its document again (about 1% of a 50-prisoner page's CPU in py-spy).
    The parser cache (`ParserCache`, in front of this one) hands back the same
    DocumentNode object for the same text, so the object's identity is the key;
    each entry keeps its document, so an id cannot be reused while its entry
    lives. Bounded like the parser cache (`caching.BoundedMemo`).
    """

    def __init__(self, results: ValidationResults) -> None:
        super().__init__()
        self.results = results

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None  # validation runs after a successful parse
        rules = tuple(context.validation_rules)
        key = (id(document), rules)
        entry = self.results.get(key)
        if entry is None or entry[0] is not document:
            errors = validate_document(context.schema._schema, document, rules)
            entry = self.results.put(key, (document, errors))
        context.pre_execution_errors = entry[1]
        yield


def validation_cache(cache_size: int) -> Callable[[], SchemaExtension]:
    """The extension factory of a `DocumentValidationCache` of `cache_size` entries."""
    results: ValidationResults = BoundedMemo(cache_size)
    return functools.partial(DocumentValidationCache, results)


# --- Pinned ground ------------------------------------------------------------

MIRRORED: tuple[str, ...] = (
    # The executor's methods `FastExecutionContext` overrides, repeats inline or calls
    # with graphql-core's own arguments, each with every override along the MRO.
    *(
        f"strawberry.schema.schema:StrawberryGraphQLCoreExecutionContext.{name}"
        for name in (
            "__init__",
            "build_resolve_info",
            "collect_and_execute_subfields",
            "collect_subfields",
            "complete_awaitable_value",
            "complete_iterable_value",
            "complete_leaf_value",
            "complete_list_item_value",
            "complete_list_value",
            "complete_object_value",
            "complete_value",
            "execute_collected_subfields",
            "execute_field",
            "execute_fields",
            "gather_async_work",
            "handle_field_error",
            "settle_in_background",
            "track_async_work",
        )
    ),
    "graphql.execution.executor:to_nodes",
    "graphql.type.definition:GraphQLResolveInfoHelpers",
    # The resolvers `install_fast_paths` replaces, and the enum serialiser `_serializer` repeats.
    "strawberry.schema.schema_converter:GraphQLCoreConverter.from_resolver",
    "strawberry.schema.schema_converter:CustomGraphQLEnumType.__init__",
    "strawberry.schema.schema_converter:CustomGraphQLEnumType.serialize",
    "strawberry.schema.schema_converter:CustomGraphQLEnumType.coerce_output_value",
    # What `DocumentValidationCache` runs, and the step it stands in for.
    "strawberry.schema.schema:validate_document",
    "strawberry.schema.schema:_run_validation",
)
"""`module:qualname` of each library function this module relies on behaving as pinned
(`PINNED` is keyed by the qualname)."""

PINNED_WITH = "graphql-core 3.3.2, strawberry-graphql 0.341.2"
"""The library versions `PINNED` was taken from (for the reviewer of a change)."""

PINNED: dict[str, str] = {
    # Made by `python -m allocation_api.schema.fast_execution`; see the module doc.
    "StrawberryGraphQLCoreExecutionContext.__init__": "277ee0e7fd801ae7",
    "StrawberryGraphQLCoreExecutionContext.build_resolve_info": "f6a489256f378bb8",
    "StrawberryGraphQLCoreExecutionContext.collect_and_execute_subfields": "3d5e4993017fdd51",
    "StrawberryGraphQLCoreExecutionContext.collect_subfields": "6227fd162d699676",
    "StrawberryGraphQLCoreExecutionContext.complete_awaitable_value": "f636288eceb1ad2d",
    "StrawberryGraphQLCoreExecutionContext.complete_iterable_value": "6d400f514440ad2a",
    "StrawberryGraphQLCoreExecutionContext.complete_leaf_value": "ac2a4b948a4b8b01",
    "StrawberryGraphQLCoreExecutionContext.complete_list_item_value": "6c7611aedad096aa",
    "StrawberryGraphQLCoreExecutionContext.complete_list_value": "3011ee6baffa6bf5",
    "StrawberryGraphQLCoreExecutionContext.complete_object_value": "c395aa5597a157e7",
    "StrawberryGraphQLCoreExecutionContext.complete_value": "2eda7d47f74efe29",
    "StrawberryGraphQLCoreExecutionContext.execute_collected_subfields": "c796d2903d6d1659",
    "StrawberryGraphQLCoreExecutionContext.execute_field": "159488cd666579ab",
    "StrawberryGraphQLCoreExecutionContext.execute_fields": "731173374b077a6b",
    "StrawberryGraphQLCoreExecutionContext.gather_async_work": "67d627d879122742",
    "StrawberryGraphQLCoreExecutionContext.handle_field_error": "e297e4a84c33cf54",
    "StrawberryGraphQLCoreExecutionContext.settle_in_background": "34a13a1801c82a8b",
    "StrawberryGraphQLCoreExecutionContext.track_async_work": "37656e2ee1ec1fa2",
    "to_nodes": "2bedeaba60ebd21c",
    "GraphQLResolveInfoHelpers": "f515693818054b0b",
    "GraphQLCoreConverter.from_resolver": "0de691938f21d1a9",
    "CustomGraphQLEnumType.__init__": "cf0eacdfae385f53",
    "CustomGraphQLEnumType.serialize": "c749811abc74133a",
    "CustomGraphQLEnumType.coerce_output_value": "817d25ee7b0053cd",
    "validate_document": "aa28ec4dd67192d8",
    "_run_validation": "af736520ea1ad142",
}


LIBRARIES = ("graphql-core", "strawberry-graphql")


def _definitions(name: str) -> list[Any]:
    """The code `name` stands for: a function or class, or for `Class.method` each
    definition of the method along the class's MRO (an override and what it extends)."""
    module_name, _, qualname = name.partition(":")
    owner: Any = importlib.import_module(module_name)
    *outer, last = qualname.split(".")
    for part in outer:
        owner = getattr(owner, part)
    if not outer:
        return [getattr(owner, last)]
    found = [
        klass.__dict__[last]
        for klass in owner.__mro__
        if last in klass.__dict__ and klass.__module__ != "builtins"  # object's own slots
    ]
    if not found:
        raise AttributeError(f"{qualname} is not defined")
    return [getattr(method, "__func__", method) for method in found]


def _normalised_source(code: Any) -> str:
    """The source of `code` as `ast` reads it, without docstrings, comments or layout."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(code)))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstring = isinstance(first.value.value, str)
                node.body = node.body[1:] if docstring and node.body[1:] else node.body
    return ast.unparse(tree)


def fingerprint(name: str) -> str:
    """The fingerprint of one `MIRRORED` name as installed; raises when it cannot be read."""
    digest = hashlib.sha256()
    for code in _definitions(name):
        digest.update(_normalised_source(code).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def installed_fingerprints() -> dict[str, str]:
    """Each `MIRRORED` name's fingerprint by its qualname (the key of `PINNED`), or
    why it has none (`unreadable: ...`)."""
    prints: dict[str, str] = {}
    for name in MIRRORED:
        key = name.partition(":")[2]
        try:
            prints[key] = fingerprint(name)
        except Exception as error:  # a missing name, no source: both are drift
            prints[key] = f"unreadable: {type(error).__name__}: {error}"
    return prints


def drift(pinned: Mapping[str, str] | None = None) -> list[str]:
    """What differs between the installed libraries and the pinned fingerprints
    (`PINNED` unless given), one line per name; empty when nothing does."""
    pinned = PINNED if pinned is None else pinned
    installed = installed_fingerprints()
    problems = []
    for name in sorted(installed.keys() | pinned.keys()):
        now, then = installed.get(name), pinned.get(name)
        if now == then:
            continue
        if then is None:
            problems.append(f"{name}: not pinned")
        elif now is None:
            problems.append(f"{name}: pinned but no longer mirrored")
        elif now.startswith("unreadable"):
            problems.append(f"{name}: {now}")
        else:
            problems.append(f"{name}: changed (pinned {then}, installed {now}{_where(name)})")
    return problems


def _where(key: str) -> str:
    """Where the installed code of a `PINNED` key is defined, for the reviewer."""
    full = next(name for name in MIRRORED if name.partition(":")[2] == key)
    places = [f"{code.__module__}.{code.__qualname__}" for code in _definitions(full)]
    return f", defined in {' and '.join(places)}"


def installed_versions() -> str:
    """The installed versions of `LIBRARIES`, as `PINNED_WITH` spells them."""
    return ", ".join(f"{lib} {importlib.metadata.version(lib)}" for lib in LIBRARIES)


def repin_advice() -> str:
    """How to move the pins after a library upgrade."""
    return (
        f"pinned with {PINNED_WITH}, installed: {installed_versions()}. Review what changed "
        "in these functions between the two versions against schema/fast_execution.py "
        "(adjust it if it no longer mirrors them), then re-pin: "
        "`.venv/bin/python -m allocation_api.schema.fast_execution` prints the new PINNED "
        "and PINNED_WITH to paste into that module."
    )


def _print_pins() -> None:
    print(f'PINNED_WITH = "{installed_versions()}"')
    print('"""The library versions `PINNED` was taken from (for the reviewer of a change)."""')
    print()
    print("PINNED: dict[str, str] = {")
    print("    # Made by `python -m allocation_api.schema.fast_execution`; see the module doc.")
    for name, value in installed_fingerprints().items():
        print(f'    "{name}": "{value}",')
    print("}")
    problems = drift()
    print(
        "# differs from the pinned: " + "; ".join(problems) if problems else "# same as pinned",
        file=sys.stderr,
    )


if __name__ == "__main__":
    _print_pins()
