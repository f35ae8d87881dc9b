"""The schema as a contract: committed SDL is current, every field has a permission decision."""

from __future__ import annotations

from pathlib import Path

from strawberry.types.base import StrawberryObjectDefinition, get_object_definition
from strawberry.types.field import StrawberryField
from strawberry.types.private import is_private
from strawberry.types.union import StrawberryUnion

from allocation_api.schema.build import build_schema
from allocation_api.schema.permissions import INHERIT, PRISONER_DATA, PrisonerDataCheck
from allocation_api.schema.root import Mutation, Query
from allocation_api.schema.types import Allocation
from allocation_api.settings import Settings

SDL = Path(__file__).resolve().parents[3] / "allocation_api" / "schema" / "schema.graphql"


def test_committed_sdl_is_current() -> None:
    current = build_schema(Settings(_env_file=None, mode="dev")).as_str() + "\n"
    assert SDL.read_text() == current, (
        "run: allocation-api export-schema > allocation_api/schema/schema.graphql"
    )


def _decided(field: StrawberryField) -> bool:
    metadata = field.metadata or {}
    return bool(field.permission_classes) or metadata.get("permission") in (
        INHERIT["permission"],
        PRISONER_DATA["permission"],
    )


PRISONER_DATA_TYPES = frozenset({"Prisoner", "AllocationEvent", "CaseInformation"})
"""Types that show one prisoner's data (NOMIS facts, case information, history).
Sentence and Handover are reached only through Prisoner."""

PASS_THROUGH = frozenset({"PrisonerConnection", "PageInfo"})
"""Wrappers of checked data: a check on the field that yields them covers their items."""

CHECKED_BY_THE_MUTATION = {
    "Mutation.update_case_information": (
        "the case information the caller has just written, after `_prisoner` refused any "
        "prisoner the caller may not change (can_mutate implies can_read_prisoner: "
        "tests/e2e/access/test_data_authorization.py)"
    ),
}
"""Mutation fields whose payload holds prisoner data, each checked by its command."""


def _checks_prisoner_data(field: StrawberryField) -> bool:
    metadata = field.metadata or {}
    return metadata.get("permission") == PRISONER_DATA["permission"] or any(
        issubclass(cls, PrisonerDataCheck) for cls in field.permission_classes
    )


def test_every_path_to_prisoner_data_passes_the_prisoner_check() -> None:
    """Authorization on the data, not the path: walking every path from Query and
    Mutation, prisoner data is reached only through a field that decides on that
    prisoner (a `PrisonerDataCheck` permission class or `PRISONER_DATA` resolver).

    A check covers the prisoner data below it only while the walk stays on that
    prisoner: prisoner-data types and pass-through wrappers keep it; entering any
    other type (an Allocation, a Pom, a Prison: objects that lead on to other
    prisoners) drops it. So an Allocation's `prisoner` and `history` carry their
    own check even under a checked Prisoner, and a new field yielding prisoner
    data from anywhere else fails here until it checks.
    """
    unchecked: list[str] = []
    seen: set[tuple[str, bool]] = set()
    stack: list[tuple[StrawberryObjectDefinition, bool, str]] = [
        (get_object_definition(Query, strict=True), False, "Query"),
        (get_object_definition(Mutation, strict=True), False, "Mutation"),
    ]
    while stack:
        definition, covered, path = stack.pop()
        if (definition.name, covered) in seen:
            continue
        seen.add((definition.name, covered))
        for field in definition.fields:
            if is_private(field.type_annotation.annotation if field.type_annotation else None):
                continue
            qualified = f"{definition.name}.{field.python_name}"
            checked = (
                covered or _checks_prisoner_data(field) or qualified in CHECKED_BY_THE_MUTATION
            )
            for child in _object_types(field.type):
                child_path = f"{path}.{field.python_name}"
                if child.name in PRISONER_DATA_TYPES and not checked:
                    unchecked.append(f"{child_path} -> {child.name}")
                keeps = child.name in PRISONER_DATA_TYPES or child.name in PASS_THROUGH
                stack.append((child, checked and keeps, child_path))
    assert unchecked == [], f"prisoner data reached without the prisoner check: {unchecked}"


def test_allocation_prisoner_data_fields_check_the_prisoner_not_inherit() -> None:
    allocation = {f.python_name: f for f in get_object_definition(Allocation, strict=True).fields}
    for name in ("prisoner", "history"):
        assert _checks_prisoner_data(allocation[name]), name


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
