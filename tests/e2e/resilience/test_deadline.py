"""The request deadline: a hanging upstream costs one request its deadline, not
3 attempts x the upstream timeout, and no retry starts once the deadline has passed.

`deadline_api` gives each upstream attempt 5 s and two retries (15 s and more
without a deadline) but each request a deadline of `DEADLINE_S`. The sandbox
counts every request it receives, so "no retry started" is an exact count.
Setup runs on `fault_api` (same sandbox and database, no short deadline).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from allocation_api.errors import UpstreamTimeout, UpstreamUnavailable
from allocation_api.sandbox import Fault, Sandbox
from allocation_api.store.urls import asyncpg_url
from allocation_api.upstream.retry import (
    DEADLINE_EXCEEDED,
    RetryPolicy,
    request_deadline,
    retry_budget,
    time_left,
)
from tests.conftest import RunningApi, running_api, settings_for
from tests.e2e.api.helpers import allocate, ready_prisoner_and_pom
from tests.e2e.resilience.conftest import FAST_FAILING
from tests.e2e.resilience.support import DEALLOCATE, assert_clean_body, store_audit, table_counts

DEADLINE_S = 1.5

PRISONER = """query($no: String!) { prisoner(offenderNo: $no) {
  offenderNo firstName lastName caseInformation { tier } allocation { version } } }"""

UPDATE_CASE_INFORMATION = """mutation($input: CaseInformationInput!) {
  updateCaseInformation(input: $input) {
    __typename ... on CaseInformation { tier version }
    ... on Error { code } ... on ServiceUnavailableError { upstream } } }"""


@pytest.fixture(scope="module")
async def deadline_api(box: Sandbox, resilience_db: str) -> AsyncIterator[RunningApi]:
    settings = settings_for(
        box,
        resilience_db,
        **{
            **FAST_FAILING,
            "upstream_total_timeout_s": 5.0,
            "upstream_retries": 2,
            "upstream_retry_budget": 10,
        },
        breaker_failure_threshold=1_000_000,
        request_deadline_s=DEADLINE_S,
    )
    async with running_api(settings, box) as running:
        yield running


async def _requests_to_prisoner_search(
    api: RunningApi, box: Sandbox, document: str, variables: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """The answer to one request and how many requests prisoner search received for it."""
    token = await api.token()
    await api.gql("{ __typename }", token=token)  # the caller's token is verified and cached
    box.reset_counts()
    status, body = await api.post({"query": document, "variables": variables}, token=token)
    assert status == 200, body
    return box.total_requests("prisoner-search"), body


async def test_a_hanging_upstream_ends_the_read_at_the_deadline_without_a_retry(
    fault_api: RunningApi, deadline_api: RunningApi, box: Sandbox
) -> None:
    no, pom = await ready_prisoner_and_pom(fault_api)
    await allocate(fault_api, no, pom["staffId"])  # the allocation tells where they are held
    healthy_calls, healthy = await _requests_to_prisoner_search(
        deadline_api, box, PRISONER, {"no": no}
    )
    assert "errors" not in healthy, healthy
    assert healthy_calls == 1

    box.set_fault("prisoner-search", Fault(mode="hang"))
    calls, body = await _requests_to_prisoner_search(deadline_api, box, PRISONER, {"no": no})

    assert_clean_body(body)
    assert calls == 1, "a retry started after the deadline"
    errors = {tuple(e["path"]): e["extensions"] for e in body["errors"]}
    assert errors == {
        ("prisoner", "firstName"): {"code": DEADLINE_EXCEEDED, "upstream": "prisoner-search"},
        ("prisoner", "lastName"): {"code": DEADLINE_EXCEEDED, "upstream": "prisoner-search"},
    }
    prisoner = body["data"]["prisoner"]
    assert prisoner == {
        "offenderNo": no,
        "firstName": None,
        "lastName": None,
        "caseInformation": {"tier": "C"},  # owned data still arrives
        "allocation": {"version": 1},
    }


async def test_a_mutation_waiting_on_a_hanging_upstream_answers_deadline_exceeded(
    fault_api: RunningApi, deadline_api: RunningApi, box: Sandbox
) -> None:
    no, _pom = await ready_prisoner_and_pom(fault_api)
    db = fault_api.settings.database_url or ""
    before = await table_counts(db)

    box.set_fault("prisoner-search", Fault(mode="hang"))
    calls, body = await _requests_to_prisoner_search(
        deadline_api,
        box,
        UPDATE_CASE_INFORMATION,
        {"input": {"offenderNo": no, "tier": "A", "probationService": "WALES"}},
    )

    assert_clean_body(body)
    assert "errors" not in body, body
    assert body["data"]["updateCaseInformation"] == {
        "__typename": "ServiceUnavailableError",
        "code": DEADLINE_EXCEEDED,
        "upstream": "prisoner-search",
    }
    assert calls == 1, "a retry started after the deadline"
    assert await table_counts(db) == before, "the refused mutation wrote something"


async def test_execution_stuck_past_the_deadline_is_cancelled_and_changes_nothing(
    fault_api: RunningApi, deadline_api: RunningApi
) -> None:
    """The outer guard: a write blocked on a row lock (no upstream involved) is
    cancelled after the deadline, answered DEADLINE_EXCEEDED without data, and
    its transaction rolled back."""
    no, pom = await ready_prisoner_and_pom(fault_api)
    await allocate(fault_api, no, pom["staffId"])
    db = fault_api.settings.database_url or ""

    token = await deadline_api.token()
    await deadline_api.gql("{ __typename }", token=token)
    engine = create_async_engine(asyncpg_url(db), poolclass=pool.NullPool)
    try:
        async with engine.connect() as holder:  # a transaction holding the row's lock
            await holder.execute(
                sa.text("SELECT 1 FROM allocation WHERE offender_no = :no FOR UPDATE"), {"no": no}
            )
            status, body = await deadline_api.post(
                {"query": DEALLOCATE, "variables": {"input": {"offenderNo": no}}}, token=token
            )
            await holder.rollback()
    finally:
        await engine.dispose()

    assert status == 200, body
    assert_clean_body(body)
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == DEADLINE_EXCEEDED
    audit = await store_audit(db, [no])
    assert audit.mismatches == []
    assert audit.prisoners[no].row is not None
    assert audit.prisoners[no].row["primary_pom_staff_id"] == pom["staffId"]
    assert audit.prisoners[no].row["version"] == 1


# --- the retry policy under a deadline (no server) ----------------------------------


class _Attempts:
    """An upstream attempt that fails with a retryable timeout, after `takes_s`."""

    def __init__(self, takes_s: float = 0.0) -> None:
        self.takes_s = takes_s
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1
        await asyncio.sleep(self.takes_s)
        raise UpstreamTimeout("prisoner-search: timed out", upstream="prisoner-search")


def _policy() -> RetryPolicy:
    return RetryPolicy(retries=2, default_budget=10, backoff_base_s=0.001, backoff_cap_s=0.002)


async def test_retries_run_as_usual_well_before_the_deadline() -> None:
    attempts = _Attempts()
    with (
        request_deadline(60.0),
        retry_budget(10) as budget,
        pytest.raises(UpstreamTimeout) as raised,
    ):
        await _policy().run(attempts, upstream="prisoner-search")
    assert attempts.count == 3
    assert raised.value.code == "UPSTREAM_TIMEOUT"
    assert budget.spent == 2


async def test_no_retry_starts_after_the_deadline_and_none_is_spent() -> None:
    attempts = _Attempts(takes_s=0.2)
    with request_deadline(0.1), retry_budget(10) as budget:
        with pytest.raises(UpstreamTimeout) as raised:
            await _policy().run(attempts, upstream="prisoner-search")
        assert (time_left() or 0) < 0
    assert attempts.count == 1
    assert raised.value.code == DEADLINE_EXCEEDED
    assert budget.spent == 0


async def test_no_attempt_starts_once_the_deadline_has_passed() -> None:
    attempts = _Attempts()
    with request_deadline(0.01):
        await asyncio.sleep(0.02)
        with pytest.raises(UpstreamTimeout) as raised:
            await _policy().run(attempts, upstream="prisoner-search")
    assert attempts.count == 0
    assert raised.value.code == DEADLINE_EXCEEDED


async def test_a_final_failure_is_not_relabelled() -> None:
    """Only calls the deadline stopped are DEADLINE_EXCEEDED; a non-retryable failure
    within the deadline keeps its own code."""

    async def refused() -> None:
        raise UpstreamUnavailable("prisoner-search: circuit open", upstream="prisoner-search")

    with request_deadline(60.0), pytest.raises(UpstreamUnavailable) as raised:
        await _policy().run(refused, upstream="prisoner-search", retryable=lambda _e: False)
    assert raised.value.code == "UPSTREAM_UNAVAILABLE"
