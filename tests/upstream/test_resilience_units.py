"""The breaker, retry policy and batching helpers on their own (no HTTP, fake clock)."""

from __future__ import annotations

import asyncio

import pytest

from allocation_api.errors import (
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from allocation_api.upstream.batching import chunks, gather_all, unique
from allocation_api.upstream.breaker import CircuitBreaker, CircuitOpen
from allocation_api.upstream.http import is_breaker_failure
from allocation_api.upstream.models import Prisoner
from allocation_api.upstream.parsing import parse_list, parse_one
from allocation_api.upstream.retry import (
    RetryBudget,
    RetryPolicy,
    current_retry_budget,
    is_retryable,
    retry_budget,
)

UP = "prison-api"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def unavailable() -> UpstreamUnavailable:
    return UpstreamUnavailable("down", upstream=UP)


def rejected(status: int) -> UpstreamRejected:
    return UpstreamRejected(f"HTTP {status}", upstream=UP, status=status)


class Operation:
    """An awaitable operation that fails with the queued errors, then succeeds."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def make_breaker(clock: FakeClock, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker(UP, failure_threshold=threshold, reset_timeout_s=10, clock=clock)


async def fail_once(breaker: CircuitBreaker, error: BaseException) -> None:
    with pytest.raises(type(error)):
        await breaker.call(Operation(error), is_failure=is_breaker_failure(UP))


# --- circuit breaker -----------------------------------------------------------


async def test_breaker_opens_after_threshold_consecutive_failures_and_fails_fast() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    for _ in range(2):
        await fail_once(breaker, unavailable())
    assert breaker.state == "closed"
    await fail_once(breaker, rejected(503))
    assert breaker.state == "open"

    op = Operation()
    with pytest.raises(CircuitOpen) as raised:
        await breaker.call(op, is_failure=is_breaker_failure(UP))
    assert op.calls == 0, "an open breaker must not call through"
    assert isinstance(raised.value, UpstreamUnavailable)
    assert raised.value.upstream == UP
    assert "circuit open" in raised.value.message


async def test_breaker_counts_only_consecutive_failures() -> None:
    breaker = make_breaker(FakeClock())
    await fail_once(breaker, unavailable())
    await fail_once(breaker, unavailable())
    assert await breaker.call(Operation(), is_failure=is_breaker_failure(UP)) == "ok"
    await fail_once(breaker, unavailable())
    await fail_once(breaker, unavailable())
    assert breaker.state == "closed"
    assert breaker.consecutive_failures == 2


async def test_client_errors_and_other_upstreams_do_not_trip_the_breaker() -> None:
    breaker = make_breaker(FakeClock(), threshold=1)
    await fail_once(breaker, rejected(400))
    await fail_once(breaker, UpstreamNotFound("nope", upstream=UP, status=404))
    await fail_once(breaker, UpstreamUnavailable("auth down", upstream="hmpps-auth"))
    await fail_once(breaker, ValueError("a bug of ours"))
    assert breaker.state == "closed"
    await fail_once(breaker, UpstreamTimeout("slow", upstream=UP))
    assert breaker.state == "open"


async def test_half_open_lets_exactly_one_probe_through_and_closes_on_success() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock, threshold=1)
    await fail_once(breaker, unavailable())
    clock.now += 9.9
    assert breaker.state == "open"
    clock.now += 0.1
    assert breaker.state == "half-open"

    release = asyncio.Event()

    async def slow_probe() -> str:
        await release.wait()
        return "probe ok"

    probe = asyncio.create_task(breaker.call(slow_probe, is_failure=is_breaker_failure(UP)))
    await asyncio.sleep(0)
    other = Operation()
    with pytest.raises(CircuitOpen):
        await breaker.call(other, is_failure=is_breaker_failure(UP))
    assert other.calls == 0
    release.set()
    assert await probe == "probe ok"
    assert breaker.state == "closed"
    assert await breaker.call(Operation(), is_failure=is_breaker_failure(UP)) == "ok"


async def test_failed_probe_reopens_and_restarts_the_reset_timer() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock, threshold=1)
    await fail_once(breaker, unavailable())
    clock.now += 10
    await fail_once(breaker, rejected(502))
    assert breaker.state == "open"
    clock.now += 5
    with pytest.raises(CircuitOpen):
        await breaker.call(Operation(), is_failure=is_breaker_failure(UP))
    clock.now += 5
    assert await breaker.call(Operation(), is_failure=is_breaker_failure(UP)) == "ok"
    assert breaker.state == "closed"


async def test_a_cancelled_probe_gives_the_probe_slot_back() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock, threshold=1)
    await fail_once(breaker, unavailable())
    clock.now += 10

    async def hang() -> str:
        await asyncio.Event().wait()
        return "never"

    probe = asyncio.create_task(breaker.call(hang, is_failure=is_breaker_failure(UP)))
    await asyncio.sleep(0)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert breaker.state == "half-open"
    assert await breaker.call(Operation(), is_failure=is_breaker_failure(UP)) == "ok"
    assert breaker.state == "closed"


def test_breaker_rejects_nonsense_configuration() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(UP, failure_threshold=0, reset_timeout_s=1)
    with pytest.raises(ValueError):
        CircuitBreaker(UP, failure_threshold=1, reset_timeout_s=0)


# --- retry policy ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (unavailable(), True),
        (UpstreamTimeout("slow", upstream=UP), True),
        (rejected(500), True),
        (rejected(502), True),
        (rejected(503), True),
        (rejected(504), True),
        (rejected(501), False),
        (rejected(400), False),
        (rejected(401), False),
        (UpstreamNotFound("nope", upstream=UP, status=404), False),
        (UpstreamRejected("not JSON", upstream=UP, status=200), False),
        (CircuitOpen(UP), False),
        (ValueError("bug"), False),
    ],
)
def test_only_transient_failures_are_retryable(error: BaseException, expected: bool) -> None:
    assert is_retryable(error) is expected


def fast_policy(retries: int, default_budget: int = 10) -> RetryPolicy:
    return RetryPolicy(
        retries=retries, default_budget=default_budget, backoff_base_s=0.001, backoff_cap_s=0.002
    )


async def test_retries_transient_failures_until_success() -> None:
    op = Operation(rejected(503), unavailable())
    assert await fast_policy(retries=2).run(op, upstream=UP) == "ok"
    assert op.calls == 3


async def test_gives_up_after_the_configured_retries_with_the_last_error() -> None:
    last = rejected(504)
    op = Operation(rejected(503), rejected(503), last, rejected(503))
    with pytest.raises(UpstreamRejected) as raised:
        await fast_policy(retries=2).run(op, upstream=UP)
    assert raised.value is last
    assert op.calls == 3


async def test_does_not_retry_answers() -> None:
    for error in (rejected(400), UpstreamNotFound("x", upstream=UP, status=404), CircuitOpen(UP)):
        op = Operation(error)
        with pytest.raises(type(error)):
            await fast_policy(retries=3).run(op, upstream=UP)
        assert op.calls == 1


async def test_request_budget_is_shared_by_every_call_and_task_in_the_block() -> None:
    policy = fast_policy(retries=3)
    with retry_budget(4) as budget:
        assert current_retry_budget() is budget
        ops = [Operation(*[unavailable()] * 5) for _ in range(3)]
        results = await asyncio.gather(
            *(policy.run(op, upstream=UP) for op in ops), return_exceptions=True
        )
    assert all(isinstance(r, UpstreamUnavailable) for r in results)
    assert budget.remaining == 0
    assert budget.spent == 4
    assert sum(op.calls for op in ops) == 3 + 4, "3 first attempts + 4 budgeted retries"
    assert current_retry_budget() is None


async def test_outside_a_request_each_call_gets_the_default_budget() -> None:
    policy = fast_policy(retries=5, default_budget=1)
    for _ in range(2):
        op = Operation(*[unavailable()] * 5)
        with pytest.raises(UpstreamUnavailable):
            await policy.run(op, upstream=UP)
        assert op.calls == 2


async def test_an_empty_budget_means_no_retries_at_all() -> None:
    with retry_budget(0):
        op = Operation(rejected(503))
        with pytest.raises(UpstreamRejected):
            await fast_policy(retries=3).run(op, upstream=UP)
    assert op.calls == 1


def test_budget_cannot_be_negative() -> None:
    with pytest.raises(ValueError):
        RetryBudget(-1)


# --- batching helpers --------------------------------------------------------------


def test_unique_keeps_first_seen_order() -> None:
    assert unique(["B", "A", "B", "C", "A"]) == ["B", "A", "C"]


def test_chunks_cover_everything_in_order() -> None:
    items = list(range(1200))
    parts = chunks(items, 1000)
    assert [len(p) for p in parts] == [1000, 200]
    assert [x for p in parts for x in p] == items
    assert chunks([], 5) == []
    with pytest.raises(ValueError):
        chunks(items, 0)


async def test_gather_all_raises_the_first_error_itself_and_cancels_the_rest() -> None:
    cancelled = asyncio.Event()

    async def slow() -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 1

    async def failing() -> int:
        await asyncio.sleep(0)
        raise rejected(500)

    with pytest.raises(UpstreamRejected):
        await gather_all([slow(), failing()])
    assert cancelled.is_set()
    assert await gather_all([asyncio.sleep(0, result=n) for n in range(3)]) == [0, 1, 2]


# --- parsing ------------------------------------------------------------------------


def test_a_body_of_the_wrong_shape_is_an_upstream_rejection() -> None:
    with pytest.raises(UpstreamRejected) as raised:
        parse_one(Prisoner, {"firstName": "NO NUMBER"}, upstream="prisoner-search", what="x")
    assert raised.value.upstream == "prisoner-search"
    with pytest.raises(UpstreamRejected):
        parse_list(Prisoner, {"content": []}, upstream="prisoner-search", what="x")
    with pytest.raises(UpstreamRejected):
        parse_list(Prisoner, [{"prisonerNumber": None}], upstream="prisoner-search", what="x")
    assert parse_list(Prisoner, None, upstream="prisoner-search", what="x") == []
    assert parse_list(Prisoner, [{"prisonerNumber": "A1234BC"}], upstream="p", what="x") == [
        Prisoner(prisonerNumber="A1234BC")
    ]
