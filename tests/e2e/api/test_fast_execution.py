"""The fast execution paths (`schema/fast_execution.py`) change nothing a client can see.

A second API instance runs with `fast_execution=False` (plain strawberry on
graphql-core) against the same sandbox and database; random documents over
the schema (aliases, merged fields, fragments, directives, every object type
reachable from the roots) must give byte-for-byte the same response on both,
errors included. The fault-injected variant is in
`tests/e2e/resilience/test_fast_execution_faults.py`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from allocation_api.sandbox import Sandbox
from allocation_api.schema import fast_execution
from allocation_api.schema.build import engine_internals
from allocation_api.schema.fast_execution import INLINE, FastExecutionContext
from tests.conftest import RunningApi, running_api, settings_for
from tests.e2e.api.helpers import allocate, co_work, ready_prisoner_and_pom
from tests.e2e.api.random_documents import random_document

SEEDS = range(40)


@pytest.fixture(scope="module")
async def plain_api(sandbox: Sandbox, database_url: str) -> AsyncIterator[RunningApi]:
    settings = settings_for(sandbox, database_url, fast_execution=False)
    async with running_api(settings, sandbox) as running:
        yield running


@pytest.fixture(scope="module")
async def refused_api(sandbox: Sandbox, database_url: str) -> AsyncIterator[RunningApi]:
    """An instance that refused the fast module: one pinned fingerprint does not match
    the installed graphql-core, as after an upgrade. Settings as `api`'s."""
    name = "StrawberryGraphQLCoreExecutionContext.execute_field"
    async with contextlib.AsyncExitStack() as stack:
        engine_internals.cache_clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(fast_execution.PINNED, name, "0" * 16)
            running = await stack.enter_async_context(
                running_api(settings_for(sandbox, database_url), sandbox)
            )
        engine_internals.cache_clear()  # schemas built later decide again, unpatched
        yield running


@pytest.fixture(scope="module")
async def cases(api: RunningApi) -> dict[str, Any]:
    """Two allocated prisoners sharing a primary POM, one with a co-working POM."""
    numbers = []
    primary: dict[str, Any] = {}
    for _ in range(2):
        no, primary = await ready_prisoner_and_pom(api)
        await allocate(api, no, primary["staffId"])
        numbers.append(no)
    await co_work(api, numbers[0], primary["staffId"])
    return {"prisoners": numbers, "pom": primary["staffId"]}


def normalised(body: Any, top: bool = True) -> Any:
    """The body without request ids, errors in a stable order, and without the top-level
    `extensions` (call counts depend on what each instance has cached)."""
    if isinstance(body, dict):
        if top:
            body = {k: v for k, v in body.items() if k != "extensions"}
        clean = {k: normalised(v, False) for k, v in body.items() if k != "requestId"}
        if isinstance(clean.get("errors"), list):
            clean["errors"].sort(key=lambda e: (repr(e.get("path")), e.get("message", "")))
        return clean
    if isinstance(body, list):
        return [normalised(v, False) for v in body]
    return body


async def same_answer(
    fast: RunningApi, plain: RunningApi, document: str, token: str | None = None
) -> dict[str, Any]:
    token = token or await fast.token()
    fast_status, fast_body = await fast.post({"query": document}, token=token)
    plain_status, plain_body = await plain.post({"query": document}, token=token)
    assert fast_status == plain_status == 200, (document, fast_body, plain_body)
    assert normalised(fast_body) == normalised(plain_body), document
    return fast_body  # type: ignore[no-any-return]


async def test_planned_fields_really_run_inline(
    api: RunningApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards the comparisons above against testing plain strawberry twice: only the
    fields without a plan go through graphql-core's `execute_field`."""
    slow: list[str] = []
    original = FastExecutionContext.execute_field

    def recording(
        self: FastExecutionContext, parent_type: Any, source: Any, fields: Any, *rest: Any
    ) -> Any:
        slow.append(f"{parent_type.name}.{fields[0].node.name.value}")
        return original(self, parent_type, source, fields, *rest)

    monkeypatch.setattr(FastExecutionContext, "execute_field", recording)
    body = await api.gql(
        '{ prison(code: "LEI") { code name prisoners(first: 2) { totalCount '
        "nodes { offenderNo sentence { releaseDate } } } } }"
    )
    assert body["data"]["prison"]["code"] == "LEI"
    # The root field and the connection (arguments, permissions) are strawberry's.
    # Leaves, single objects and lists of objects (`nodes`) never reach `execute_field`.
    assert sorted(slow) == ["Prison.prisoners", "Query.prison"]


def test_fast_paths_are_installed_on_the_running_schema(api: RunningApi) -> None:
    schema = api.app.state.schema
    assert schema.execution_context_class is FastExecutionContext
    prisoner = schema._schema.type_map["Prisoner"]
    planned = prisoner.extensions[INLINE]
    assert {"offenderNo", "firstName", "sentence", "allocation", "responsibility"} <= set(planned)
    # Permission-checked fields never take a fast path.
    pom = schema._schema.type_map["Pom"]
    assert "caseload" not in pom.extensions[INLINE]
    assert pom.fields["caseload"].resolve.__name__ != "resolve"


@pytest.mark.parametrize("seed", SEEDS)
async def test_prison_documents_answer_the_same(
    api: RunningApi, plain_api: RunningApi, cases: dict[str, Any], seed: int
) -> None:
    body = await same_answer(api, plain_api, random_document(seed, 'prison(code: "LEI") : Prison'))
    assert body["data"]["prison"] is not None


@pytest.mark.parametrize("seed", SEEDS)
async def test_pom_documents_answer_the_same(
    api: RunningApi, plain_api: RunningApi, cases: dict[str, Any], seed: int
) -> None:
    root = f'pom(staffId: {cases["pom"]}, prisonCode: "LEI") : Pom'
    body = await same_answer(api, plain_api, random_document(seed, root))
    assert body["data"]["pom"] is not None


@pytest.mark.parametrize("seed", SEEDS)
async def test_prisoner_documents_answer_the_same(
    api: RunningApi, plain_api: RunningApi, cases: dict[str, Any], seed: int
) -> None:
    no = cases["prisoners"][seed % 2]
    body = await same_answer(
        api, plain_api, random_document(seed, f'prisoner(offenderNo: "{no}") : Prisoner')
    )
    assert body["data"]["prisoner"] is not None


async def test_non_null_violations_and_type_errors_are_placed_the_same(
    api: RunningApi, plain_api: RunningApi, cases: dict[str, Any]
) -> None:
    """Invalid variables and unknown fields are refused identically (before execution)."""
    for document in (
        "{ prison(code: 1) { code } }",
        '{ prison(code: "LEI") { nope } }',
        '{ prisoner(offenderNo: "bad") { offenderNo } }',
        '{ prison(code: "ZZZ") { code name } }',
    ):
        token = await api.token()
        fast = await api.post({"query": document}, token=token)
        plain = await plain_api.post({"query": document}, token=token)
        assert fast[0] == plain[0]
        assert normalised(fast[1]) == normalised(plain[1]), document


@pytest.mark.parametrize("seed", range(12))
async def test_a_refused_fast_path_answers_the_same(
    api: RunningApi, refused_api: RunningApi, cases: dict[str, Any], seed: int
) -> None:
    """When the fast module is refused (its pins do not match), the service runs on plain
    strawberry and every answer is the fast path's."""
    schema = refused_api.app.state.schema
    assert schema.execution_context_class is not FastExecutionContext
    assert INLINE not in schema._schema.type_map["Prisoner"].extensions
    no = cases["prisoners"][seed % 2]
    for root in (
        'prison(code: "LEI") : Prison',
        f'pom(staffId: {cases["pom"]}, prisonCode: "LEI") : Pom',
        f'prisoner(offenderNo: "{no}") : Prisoner',
    ):
        body = await same_answer(api, refused_api, random_document(seed + 1000, root))
        assert body["data"] is not None
