"""The fast path stands on pinned ground, and the service stands without it.

`schema/fast_execution.py` mirrors graphql-core's and strawberry's internal
functions (`MIRRORED`); their pinned fingerprints (`PINNED`) say which code it
was written against. A library upgrade that changes one fails here, loudly,
naming the function; the service itself then logs one warning and runs on
plain strawberry, which the fallback tests below show answering the same.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from strawberry.extensions import ValidationCache

from allocation_api.schema import build, fast_execution
from allocation_api.schema.build import build_schema, engine_internals
from allocation_api.settings import Settings

DOCUMENT = "{ __typename a: __typename }"


def test_the_installed_libraries_match_the_pinned_fingerprints() -> None:
    problems = fast_execution.drift()
    if problems:
        pytest.fail(
            "graphql-core/strawberry changed under schema/fast_execution.py, which now "
            "runs on plain strawberry (slower, same answers):\n  "
            + "\n  ".join(problems)
            + "\n"
            + fast_execution.repin_advice(),
            pytrace=False,
        )


def test_every_mirrored_function_is_pinned_and_readable() -> None:
    installed = fast_execution.installed_fingerprints()
    assert set(installed) == set(fast_execution.PINNED)
    assert len(installed) == len(fast_execution.MIRRORED)
    assert not [name for name, value in installed.items() if value.startswith("unreadable")]


def _original(x: int) -> int:
    """Doubles."""
    return x * 2


# fmt: off
def _relaid(x: int) -> int:
    # A comment, another docstring and another layout: the same code.
    """Twice x."""
    return (
        x*2
    )
# fmt: on


def _changed(x: int) -> int:
    """Doubles."""
    return x * 3


def test_the_fingerprint_sees_code_not_layout() -> None:
    def source(fn: Any) -> str:
        return fast_execution._normalised_source(fn).replace(fn.__name__, "f")

    assert source(_original) == source(_relaid)
    assert source(_original) != source(_changed)


def test_a_changed_function_is_named() -> None:
    name = "StrawberryGraphQLCoreExecutionContext.execute_field"
    pinned = {**fast_execution.PINNED, name: "0" * 16}
    problems = fast_execution.drift(pinned)
    installed = fast_execution.PINNED[name]
    assert problems == [
        f"{name}: changed (pinned {'0' * 16}, installed {installed}, "
        "defined in graphql.execution.executor.Executor.execute_field)"
    ]
    gone = fast_execution.drift({**fast_execution.PINNED, "Executor.gone": "0" * 16})
    assert gone == ["Executor.gone: pinned but no longer mirrored"]


@pytest.fixture
def fresh_decision() -> Iterator[None]:
    """`engine_internals()` decides once per process; these tests decide again, and
    leave the real decision to whoever builds a schema next."""
    engine_internals.cache_clear()
    yield
    engine_internals.cache_clear()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == build.__name__ and r.levelno == logging.WARNING
    ]


async def test_a_fingerprint_mismatch_falls_back_to_plain_strawberry_once(
    fresh_decision: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(_env_file=None, mode="dev")
    fast = build_schema(settings)
    assert fast.execution_context_class is fast_execution.FastExecutionContext
    engine_internals.cache_clear()

    name = "StrawberryGraphQLCoreExecutionContext.complete_value"
    monkeypatch.setitem(fast_execution.PINNED, name, "0" * 16)
    with caplog.at_level(logging.WARNING, logger=build.__name__):
        plain = build_schema(settings)
        again = build_schema(settings)
    warnings = _warnings(caplog)
    assert len(warnings) == 1, warnings
    assert f"{name}: changed" in warnings[0]
    assert "python -m allocation_api.schema.fast_execution" in warnings[0]
    for schema in (plain, again):
        assert schema.execution_context_class is not fast_execution.FastExecutionContext
        assert not any(
            "allocation_api.inline" in t.extensions for t in schema._schema.type_map.values()
        )
        factories = [getattr(e, "func", e) for e in schema.extensions]
        assert ValidationCache in factories
        assert fast_execution.DocumentValidationCache not in factories

    fast_answer = await fast.execute(DOCUMENT, context_value=None)
    plain_answer = await plain.execute(DOCUMENT, context_value=None)
    assert (plain_answer.data, plain_answer.errors) == (fast_answer.data, fast_answer.errors)
    assert plain_answer.data == {"__typename": "Query", "a": "Query"}
    invalid = [await s.execute("{ nope }", context_value=None) for s in (fast, plain)]
    assert [[e.message for e in r.errors or []] for r in invalid] == [
        [e.message for e in invalid[0].errors or []]
    ] * 2


def test_the_setting_still_turns_the_fast_path_off(
    fresh_decision: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=build.__name__):
        schema = build_schema(Settings(_env_file=None, mode="dev", fast_execution=False))
    assert schema.execution_context_class is not fast_execution.FastExecutionContext
    assert _warnings(caplog) == []


CHILD = textwrap.dedent(
    """
    import asyncio, json, logging, sys

    # graphql-core without a name schema/fast_execution.py imports (3.2 had no
    # GroupedFieldSet): graphql-core itself keeps working, the fast module cannot load.
    import graphql.execution.collect_fields as collect_fields
    del collect_fields.GroupedFieldSet

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(message)s")
    import allocation_api.app  # the whole service imports
    from allocation_api.schema.build import build_schema
    from allocation_api.settings import Settings

    schemas = [build_schema(Settings(_env_file=None, mode="dev")) for _ in range(2)]
    result = asyncio.run(schemas[0].execute("{ __typename a: __typename }", context_value=None))
    print(json.dumps({
        "context": [s.execution_context_class.__name__ for s in schemas],
        "data": result.data,
        "errors": [e.message for e in result.errors or []],
        "fast_module_loaded": "allocation_api.schema.fast_execution" in sys.modules,
    }))
    """
)


def test_the_service_imports_and_answers_when_the_fast_module_cannot_import() -> None:
    """In a fresh interpreter: before the fast path was isolated, this import failed."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out == {
        "context": ["StrawberryGraphQLCoreExecutionContext"] * 2,
        "data": {"__typename": "Query", "a": "Query"},
        "errors": [],
        "fast_module_loaded": False,
    }
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, done.stderr
    assert "GroupedFieldSet" in warnings[0]
    assert "plain strawberry" in warnings[0]


def test_only_build_imports_the_fast_module_and_only_lazily() -> None:
    """Nothing imports `schema/fast_execution.py` at module level, so no import of the
    service depends on graphql-core's internals."""
    import ast
    from pathlib import Path

    import allocation_api

    root = Path(allocation_api.__file__).parent
    importers = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if fast_execution.__name__ in names:
                importers.append(str(path.relative_to(root)))
    assert importers == []
    assert fast_execution.__name__ == build.FAST_EXECUTION_MODULE
