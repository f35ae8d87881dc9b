"""The upstream model must fit the rules' Protocol, and the rules must not know it.

The typed assignment below is checked by mypy when this file is type-checked
(`.venv/bin/mypy tests/rules`); the runtime tests pin the same contract for
every pytest run: same member names, same types.
"""

from __future__ import annotations

import ast
import pathlib
import typing

import pytest

import allocation_api.rules
from allocation_api.rules.facts import PrisonerFacts
from allocation_api.upstream.models import Prisoner
from tests.rules.builders import Facts

# mypy flags this line if Prisoner stops matching PrisonerFacts structurally.
UPSTREAM_PRISONER: PrisonerFacts = Prisoner(prisonerNumber="A1234BC")
TEST_FACTS: PrisonerFacts = Facts()

PROTOCOL_MEMBERS = sorted(
    name
    for name, value in vars(PrisonerFacts).items()
    if isinstance(value, property) and not name.startswith("_")
)


def test_protocol_declares_the_fields_the_rules_read() -> None:
    assert "prisonerNumber" in PROTOCOL_MEMBERS
    assert "paroleEligibilityDate" in PROTOCOL_MEMBERS
    assert len(PROTOCOL_MEMBERS) == 15


def test_upstream_prisoner_is_prisoner_facts_at_runtime() -> None:
    assert isinstance(UPSTREAM_PRISONER, PrisonerFacts)
    assert isinstance(TEST_FACTS, PrisonerFacts)


@pytest.mark.parametrize("name", PROTOCOL_MEMBERS)
def test_upstream_field_types_match_the_protocol(name: str) -> None:
    model_types = typing.get_type_hints(Prisoner)
    member = vars(PrisonerFacts)[name]
    assert isinstance(member, property)
    assert member.fget is not None
    assert model_types[name] == typing.get_type_hints(member.fget)["return"]


@pytest.mark.parametrize("name", PROTOCOL_MEMBERS)
def test_test_facts_field_types_match_the_protocol(name: str) -> None:
    member = vars(PrisonerFacts)[name]
    assert member.fget is not None
    expected = typing.get_type_hints(member.fget)["return"]
    assert typing.get_type_hints(Facts)[name] == expected


def test_only_prisoner_number_is_required() -> None:
    required = {name for name, f in Prisoner.model_fields.items() if f.is_required()}
    assert required == {"prisonerNumber"}


def _imported_modules(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


RULE_FILES = sorted(pathlib.Path(allocation_api.rules.__file__).parent.glob("*.py"))


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_rules_import_no_io_layer(path: pathlib.Path) -> None:
    forbidden = (
        "allocation_api.upstream",
        "allocation_api.store",
        "allocation_api.schema",
        "allocation_api.resolvers",
        "allocation_api.commands",
        "aiohttp",
        "sqlmodel",
        "sqlalchemy",
        "strawberry",
    )
    imported = _imported_modules(path)
    assert not {m for m in imported if m.startswith(forbidden)}
