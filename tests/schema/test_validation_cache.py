"""`DocumentValidationCache`: a document is validated once per rule set, its errors
are answered again on every request, and the cache stays bounded."""

from __future__ import annotations

from typing import Any

import pytest

from allocation_api.schema import fast_execution
from allocation_api.schema.build import build_schema
from allocation_api.settings import Settings

VALID = "{ __typename }"
INVALID = "{ noSuchField }"


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []
    original = fast_execution.validate_document

    def counting(schema: Any, document: Any, rules: Any) -> Any:
        seen.append(document)
        return original(schema, document, rules)

    monkeypatch.setattr(fast_execution, "validate_document", counting)
    return seen


async def test_a_repeated_document_is_validated_once(validations: list[Any]) -> None:
    schema = build_schema(Settings(_env_file=None, mode="dev", query_cache_size=8))
    for _ in range(3):
        result = await schema.execute(VALID, context_value=None)
        assert result.errors is None
        assert result.data == {"__typename": "Query"}
    assert len(validations) == 1


async def test_errors_are_answered_from_the_cache_too(validations: list[Any]) -> None:
    schema = build_schema(Settings(_env_file=None, mode="dev", query_cache_size=8))
    messages = []
    for _ in range(2):
        result = await schema.execute(INVALID, context_value=None)
        assert result.errors
        messages.append([e.message for e in result.errors])
    assert messages[0] == messages[1]
    assert "noSuchField" in messages[0][0]
    assert len(validations) == 1


async def test_the_cache_is_bounded(validations: list[Any]) -> None:
    schema = build_schema(Settings(_env_file=None, mode="dev", query_cache_size=4))
    for n in range(20):
        await schema.execute(f"{{ a{n}: __typename }}", context_value=None)
    extension = next(
        e
        for e in schema.extensions
        if getattr(e, "func", None) is fast_execution.DocumentValidationCache
    )
    assert len(extension.args[0]) <= 4
    assert len(validations) == 20
