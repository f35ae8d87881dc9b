"""A small asyncio circuit breaker, one per upstream.

Why not a library: of the candidates, `pybreaker` only offers async support
through Tornado's coroutines, `aiobreaker` has not been released since 2021,
and `purgatory` (the best fit, asyncio-native) lets every concurrent caller
through while half-open instead of exactly one probe, routes state changes
through its own message bus, and would add a dependency for ~80 lines of
state machine. The behaviour we need is small and must be exact:

    closed --(N consecutive failures)--> open
    open   --(reset timeout elapsed)---> half-open: ONE probe is let through,
                                         every other caller still fails fast
    half-open --(probe succeeds)-------> closed
    half-open --(probe fails)----------> open (the reset timer starts again)

Only failures that say "the upstream is unwell" count (the caller decides,
see `http.is_breaker_failure`): transport errors, timeouts, 5xx, unreadable
bodies. A 4xx is an answer, so it counts as a success. A call that is
cancelled says nothing about the upstream: it neither trips nor closes the
breaker, it only gives the probe slot back.

Everything runs on one event loop thread, so plain attributes are enough; no
lock is held across an `await`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

from allocation_api.errors import UpstreamUnavailable

T = TypeVar("T")
BreakerState = Literal["closed", "open", "half-open"]

log = logging.getLogger(__name__)


class CircuitOpen(UpstreamUnavailable):
    """Raised without sending anything while an upstream's breaker is open.

    A subclass of `UpstreamUnavailable` so callers need not know about it,
    while the retry policy can tell it apart and not retry a fast-fail.
    """

    def __init__(self, upstream: str) -> None:
        super().__init__(f"{upstream}: circuit open", upstream=upstream)


class CircuitBreaker:
    """Consecutive-failure breaker with a single-probe half-open state."""

    def __init__(
        self,
        upstream: str,
        *,
        failure_threshold: int,
        reset_timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_timeout_s <= 0:
            raise ValueError("reset_timeout_s must be positive")
        self.upstream = upstream
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.upstream!r}, state={self.state!r})"

    @property
    def state(self) -> BreakerState:
        """The state as /health should report it.

        An open breaker whose reset timeout has run out reports "half-open":
        the next call will be let through as the probe.
        """
        if self._state == "open" and self._reset_due():
            return "half-open"
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    async def call(
        self,
        operation: Callable[[], Awaitable[T]],
        *,
        is_failure: Callable[[BaseException], bool],
    ) -> T:
        """Run `operation` if the breaker admits it and record how it went.

        Raises `CircuitOpen` without calling `operation` when the breaker is
        open (or half-open with its probe already in flight).
        """
        is_probe = self._admit()
        try:
            result = await operation()
        except BaseException as exc:
            if isinstance(exc, Exception) and is_failure(exc):
                self._record_failure()
            elif isinstance(exc, Exception):
                self._record_success()
            elif is_probe:
                # Cancelled (or similar): no verdict; let the next caller probe.
                self._probe_in_flight = False
            raise
        self._record_success()
        return result

    def _reset_due(self) -> bool:
        return self._clock() - self._opened_at >= self.reset_timeout_s

    def _admit(self) -> bool:
        """Let a call through or raise `CircuitOpen`; True if it is the probe."""
        if self._state == "closed":
            return False
        if self._state == "open" and self._reset_due():
            self._transition("half-open")
        if self._state == "half-open" and not self._probe_in_flight:
            self._probe_in_flight = True
            return True
        raise CircuitOpen(self.upstream)

    def _record_success(self) -> None:
        self._failures = 0
        self._probe_in_flight = False
        if self._state != "closed":
            self._transition("closed")

    def _record_failure(self) -> None:
        self._failures += 1
        self._probe_in_flight = False
        if self._state == "half-open" or (
            self._state == "closed" and self._failures >= self.failure_threshold
        ):
            self._opened_at = self._clock()
            self._transition("open")

    def _transition(self, new_state: BreakerState) -> None:
        if new_state != self._state:
            log.warning("circuit breaker %s: %s -> %s", self.upstream, self._state, new_state)
            self._state = new_state
