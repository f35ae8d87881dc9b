"""Retry policy for upstream reads, bounded per GraphQL request.

Every upstream call we make is a read, so retrying is safe; what is not safe
is letting retries multiply load on an upstream that is already struggling.
Two limits apply together:

* per call: at most `upstream_retries` extra attempts, with full-jitter
  exponential backoff (50 ms window doubling up to 1 s) so that concurrent
  callers do not retry in lock-step;
* per GraphQL request: a shared `RetryBudget` bound with `retry_budget(n)`.
  It lives in a ContextVar, so every task spawned while handling the request
  (DataLoader batches, concurrent chunk reads) spends from the same budget.
  Outside a request each call gets its own budget of
  `settings.upstream_retry_budget`.

Only failures that may heal on their own are retried: transport errors,
timeouts and 500/502/503/504. A 4xx, an unreadable body or an open circuit is
final.

A request also has a deadline (`request_deadline(seconds)`, bound like the
budget): no attempt and no retry starts once it has passed, or when the
backoff sleep would reach it, and each attempt's timeout is cut to the time
left (`time_left`, used by `http.py`). A call stopped by the deadline fails
with `UpstreamTimeout` coded `DEADLINE_EXCEEDED`, so it is reported where an
upstream timeout would be (a field error, or a mutation's
`ServiceUnavailableError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from allocation_api.errors import (
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from allocation_api.upstream.breaker import CircuitOpen

T = TypeVar("T")

DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 1.0

log = logging.getLogger(__name__)


class RetryBudget:
    """A count of retries that may still be spent (shared by reference)."""

    __slots__ = ("remaining", "spent")

    def __init__(self, retries: int) -> None:
        if retries < 0:
            raise ValueError("a retry budget cannot be negative")
        self.remaining = retries
        self.spent = 0

    def __repr__(self) -> str:
        return f"RetryBudget(remaining={self.remaining}, spent={self.spent})"

    def try_spend(self) -> bool:
        """Take one retry from the budget; False when none is left."""
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        self.spent += 1
        return True


_budget: ContextVar[RetryBudget | None] = ContextVar("allocation_api_retry_budget", default=None)


@contextlib.contextmanager
def retry_budget(retries: int) -> Iterator[RetryBudget]:
    """Bind one retry budget for everything the block (and its tasks) sends upstream."""
    budget = RetryBudget(retries)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def current_retry_budget() -> RetryBudget | None:
    """The budget bound by `retry_budget`, if the caller is inside one."""
    return _budget.get()


class Deadline:
    """The moment (event-loop clock) by which one request must be answered."""

    __slots__ = ("at", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = asyncio.get_running_loop().time() + seconds

    def __repr__(self) -> str:
        return f"Deadline(seconds={self.seconds}, left={self.left():.3f})"

    def left(self) -> float:
        """Seconds until the deadline (negative once it has passed)."""
        return self.at - asyncio.get_running_loop().time()


_deadline: ContextVar[Deadline | None] = ContextVar("allocation_api_deadline", default=None)


@contextlib.contextmanager
def request_deadline(seconds: float) -> Iterator[Deadline]:
    """Bind a deadline `seconds` from now for everything the block (and its tasks) sends."""
    deadline = Deadline(seconds)
    token = _deadline.set(deadline)
    try:
        yield deadline
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds left before the current request's deadline; None outside a request."""
    deadline = _deadline.get()
    return None if deadline is None else deadline.left()


def deadline_exceeded(upstream: str, *, during: str = "") -> UpstreamTimeout:
    """The error of a call the request's deadline stopped."""
    deadline = _deadline.get()
    seconds = f" of {deadline.seconds:g} s" if deadline is not None else ""
    return UpstreamTimeout(
        f"{upstream}: the request's deadline{seconds} passed{during}",
        upstream=upstream,
        code=DEADLINE_EXCEEDED,
    )


def is_retryable(exc: BaseException) -> bool:
    """True for failures that may succeed if the same read is sent again."""
    if isinstance(exc, CircuitOpen):
        return False
    if isinstance(exc, UpstreamUnavailable | UpstreamTimeout):
        return True
    return isinstance(exc, UpstreamRejected) and exc.status in RETRYABLE_STATUSES


class _StopWhenSpent(stop_base):
    """Stop retrying once the budget is spent; otherwise spend one retry.

    Tenacity consults stop conditions only after it has decided to retry, and
    `stop_after_attempt` is checked first (`|` short-circuits), so the budget
    pays only for retries that really happen.
    """

    def __init__(self, budget: RetryBudget) -> None:
        self.budget = budget

    def __call__(self, retry_state: RetryCallState) -> bool:
        return not self.budget.try_spend()


class _StopAtDeadline(stop_base):
    """Stop retrying when the request's deadline has passed or the backoff would reach it.

    Placed before `_StopWhenSpent`, so a retry refused by the deadline spends
    no budget.
    """

    def __init__(self) -> None:
        self.stopped = False

    def __call__(self, retry_state: RetryCallState) -> bool:
        left = time_left()
        if left is not None and left <= retry_state.upcoming_sleep:
            self.stopped = True
        return self.stopped


class RetryPolicy:
    """How many times and how patiently one upstream's reads are retried."""

    def __init__(
        self,
        *,
        retries: int,
        default_budget: int,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_cap_s: float = BACKOFF_CAP_S,
    ) -> None:
        self.retries = retries
        self.default_budget = default_budget
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        upstream: str,
        retryable: Callable[[BaseException], bool] = is_retryable,
    ) -> T:
        """Call `attempt` until it succeeds, fails for good, or retries run out."""
        budget = current_retry_budget() or RetryBudget(self.default_budget)

        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("retrying %s after attempt %d: %s", upstream, state.attempt_number, exc)

        left = time_left()
        if left is not None and left <= 0:
            raise deadline_exceeded(upstream)
        at_deadline = _StopAtDeadline()
        retrying = AsyncRetrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(self.retries + 1) | at_deadline | _StopWhenSpent(budget),
            wait=wait_random_exponential(multiplier=self.backoff_base_s, max=self.backoff_cap_s),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return await retrying(attempt)
        except UpstreamError as error:
            if at_deadline.stopped and error.code != DEADLINE_EXCEEDED:
                raise deadline_exceeded(upstream, during=f" after: {error.message}") from error
            raise
        finally:
            # Tenacity keeps its pending actions (bound methods of `retrying`) on
            # `retrying`: a reference cycle per upstream call, left to the cyclic
            # garbage collector unless the actions are dropped.
            retrying.iter_state.reset()
