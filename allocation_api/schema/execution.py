"""Execution with strawberry's per-field wrappers taken off the hot path.

A 50-prisoner page completes about 400 fields. graphql-core alone spends
about 10 µs on each (a Path, a GraphQLResolveInfo, the resolver call,
`complete_value`'s type dispatch); strawberry adds its own layers on top (an
`Info` per resolver call, argument conversion, the extension chain). Profiles
showed that machinery, not our resolvers, was most of the CPU of a page.

Two changes, both decided once per schema by `install_fast_paths` and both
semantically identical to what they replace:

- **Leaf attributes** (a scalar or enum field with no resolver, arguments,
  permission classes or extensions) are read and serialised inline by
  `FastExecutionContext.execute_fields`: no Path, no info, no resolver call.
  Anything unusual (None on a non-null field, an `Unavailable` marker, a
  value that does not serialise) takes graphql-core's ordinary path, which
  raises and places the error exactly as before.
- **Direct resolvers**: a field declared with `direct(fn)` metadata, no
  arguments and no permission classes is resolved by `fn(context, source)`
  straight from graphql-core, skipping strawberry's `Info` and extension
  chain; other attribute fields get a plain attribute resolver.

Everything else (root fields, permission-checked fields, fields with
arguments, mutations, introspection) runs through strawberry unchanged.
`tests/api/test_fast_execution.py` runs the same documents with and without
these paths and requires identical responses, errors included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

from allocation_api.schema.permissions import INHERIT
from allocation_api.schema.unavailable import Unavailable, resolve_attribute

DIRECT = "allocation_api.direct"
"""Field metadata key: `fn(context, source)` resolves the field without strawberry's wrappers."""

LEAVES = "allocation_api.leaves"
"""GraphQLObjectType extensions key: field name -> `_Leaf` for inline-completed fields."""

STRAWBERRY_DEFINITION = "strawberry-definition"

DirectResolver = Callable[[Any, Any], object]


def direct(fn: DirectResolver) -> dict[str, object]:
    """Metadata for a field covered by its parent's permission and resolved by `fn(ctx, source)`.

    The decorated method must do exactly what `fn` does; it stays as the
    declaration strawberry types the field from, and as the fallback when
    fast paths are off.
    """
    return {**INHERIT, DIRECT: fn}


_SLOW = object()
"""Returned by `_Leaf.complete` when graphql-core's ordinary path must decide."""


@dataclass(frozen=True, slots=True)
class _Leaf:
    """How to complete one leaf attribute field inline."""

    python_name: str
    serialize: Callable[[Any], Any]
    nullable: bool

    def complete(self, source: Any) -> object:
        try:
            value = getattr(source, self.python_name)
        except Exception:
            return _SLOW
        if value is None:
            return None if self.nullable else _SLOW
        if type(value) is Unavailable or isinstance(value, Exception):
            return _SLOW
        try:
            serialized = self.serialize(value)
        except Exception:
            return _SLOW
        if serialized is None or serialized is Undefined:
            return _SLOW
        return serialized


def _attribute_resolver(python_name: str) -> Callable[..., object]:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> object:
        return resolve_attribute(source, python_name)

    resolve._is_default = True  # type: ignore[attr-defined]  # strawberry's tracing marker
    return resolve


def _context_resolver(fn: DirectResolver) -> Callable[..., object]:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> object:
        return fn(info.context, source)

    return resolve


def install_fast_paths(
    schema: GraphQLSchema, default_resolver: Callable[[Any, str], object]
) -> None:
    """Decide, once, which fields of `schema` take the fast paths (see the module doc)."""
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        leaves: dict[str, _Leaf] = {}
        for name, field_def in graphql_type.fields.items():
            definition = field_def.extensions.get(STRAWBERRY_DEFINITION)
            if not isinstance(definition, StrawberryField):
                continue
            if definition.extensions or field_def.args:
                continue  # permission classes, extensions or arguments: strawberry decides
            if definition.base_resolver is not None:
                fn = definition.metadata.get(DIRECT)
                if fn is not None:
                    field_def.resolve = _context_resolver(fn)
                continue
            if default_resolver is not resolve_attribute:
                continue
            nullable = not is_non_null_type(field_def.type)
            named = field_def.type.of_type if not nullable else field_def.type
            if is_leaf_type(named):
                leaves[name] = _Leaf(definition.python_name, named.serialize, nullable)
            field_def.resolve = _attribute_resolver(definition.python_name)
        if leaves:
            graphql_type.extensions = {**graphql_type.extensions, LEAVES: leaves}


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor with leaf attribute fields completed inline."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        leaves: Mapping[str, _Leaf] | None = parent_type.extensions.get(LEAVES)
        manager = self.middleware_manager  # strawberry always passes one, often empty
        if leaves is None or (manager is not None and manager.middlewares):
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        # The loop below is graphql-core 3.3's `execute_fields` with the leaf branch added.
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                leaf = leaves.get(field_details_list[0].node.name.value)
                if leaf is not None:
                    completed = leaf.complete(source_value)
                    if completed is not _SLOW:
                        results[response_name] = completed
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()
