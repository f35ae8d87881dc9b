"""The schema as a contract: committed SDL is current, every field has a permission decision."""

from __future__ import annotations

from pathlib import Path

from strawberry.types.base import StrawberryObjectDefinition, get_object_definition
from strawberry.types.field import StrawberryField
from strawberry.types.private import is_private
from strawberry.types.union import StrawberryUnion

from allocation_api.schema.build import build_schema
from allocation_api.schema.permissions import INHERIT
from allocation_api.schema.root import Mutation, Query
from allocation_api.settings import Settings

SDL = Path(__file__).resolve().parents[2] / "allocation_api" / "schema" / "schema.graphql"


def test_committed_sdl_is_current() -> None:
    current = build_schema(Settings(_env_file=None, mode="dev")).as_str() + "\n"
    assert SDL.read_text() == current, (
        "run: allocation-api export-schema > allocation_api/schema/schema.graphql"
    )


def _decided(field: StrawberryField) -> bool:
    metadata = field.metadata or {}
    return bool(field.permission_classes) or metadata.get("permission") == INHERIT["permission"]


def _object_types(annotation: object) -> list[StrawberryObjectDefinition]:
    """Object definitions reachable from a field type (unwrapping lists, optionals, unions)."""
    found: list[StrawberryObjectDefinition] = []
    stack = [annotation]
    while stack:
        current = stack.pop()
        definition = get_object_definition(current)
        if definition is not None:
            found.append(definition)
            continue
        if isinstance(current, StrawberryUnion):
            stack.extend(t for t in current.types)
            continue
        for attr in ("of_type",):
            inner = getattr(current, attr, None)
            if inner is not None:
                stack.append(inner)
    return found


def test_every_reachable_field_has_a_permission_decision() -> None:
    seen: set[str] = set()
    undecided: list[str] = []
    queue = [
        get_object_definition(Query, strict=True),
        get_object_definition(Mutation, strict=True),
    ]
    while queue:
        definition = queue.pop()
        if definition.name in seen:
            continue
        seen.add(definition.name)
        for field in definition.fields:
            if is_private(field.type_annotation.annotation if field.type_annotation else None):
                continue
            if not _decided(field):
                undecided.append(f"{definition.name}.{field.python_name}")
            queue.extend(_object_types(field.type))
    assert seen >= {
        "Query",
        "Mutation",
        "Prison",
        "Prisoner",
        "Pom",
        "Allocation",
        "AllocationEvent",
    }
    assert undecided == [], f"fields without a permission decision: {undecided}"


def test_root_fields_use_permission_classes() -> None:
    for root in (Query, Mutation):
        for field in get_object_definition(root, strict=True).fields:
            assert field.permission_classes, f"{root.__name__}.{field.python_name}"
