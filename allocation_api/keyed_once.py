"""A per-request memo for lookups made with one key per request.

A DataLoader batches the keys asked for in one turn of the event loop: every
`load` gets a future, a dispatch is scheduled for a later turn, and a task runs
the batch. For the prison, its roll and its POM list a request asks one key,
and the shared caches (`caching.SingleFlightCache`) answer a fresh key without
suspending at all: the batching only cost loop turns (a few per page). Here
the first caller runs the lookup at once; concurrent callers of the same key
await the same future; later callers get the memoised outcome (a value, or the
same error, as a DataLoader would give) without suspending.
`RequestContext.once` (derived values memoised per request) is one too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class KeyedOnce(Generic[K, V]):
    """`load(key)` runs `fetch(key)` once per key for the life of this object (one
    request); `run(key, fetch)` is the same with the lookup given per call (for
    `RequestContext.once`, whose keys each compute something different).

    A cancellation stays with the caller it was meant for: waiters await the
    shared outcome shielded, and when the caller running the lookup is cancelled,
    a concurrent caller that is not runs the lookup again."""

    __slots__ = ("_fetch", "_outcomes")

    def __init__(self, fetch: Callable[[K], Awaitable[V]] | None = None) -> None:
        self._fetch = fetch
        self._outcomes: dict[K, asyncio.Future[V]] = {}

    async def load(self, key: K) -> V:
        assert self._fetch is not None, "made without a fetch: use run(key, fetch)"
        return await self.run(key, self._fetch)

    async def run(self, key: K, fetch: Callable[[K], Awaitable[V]]) -> V:
        outcome = self._outcomes.get(key)
        while outcome is not None:
            if outcome.done():
                return outcome.result()  # a finished lookup answers without suspending
            try:
                # Shielded: a waiter's own cancellation must not cancel the shared lookup.
                return await asyncio.shield(outcome)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not outcome.cancelled() or (task is not None and task.cancelling()):
                    raise  # this caller is being cancelled
            # The caller running the lookup was cancelled, not this one: the key was
            # forgotten, so the first waiter to get here runs the lookup again.
            outcome = self._outcomes.get(key)
        outcome = asyncio.get_running_loop().create_future()
        self._outcomes[key] = outcome
        try:
            value = await fetch(key)
        except Exception as error:
            outcome.set_exception(error)
            outcome.exception()  # retrieved here: no "never retrieved" warning if unshared
            raise
        except BaseException:
            # Cancelled: nothing was learnt. Waiters wake, and one whose own task is not
            # being cancelled runs the lookup again (as does any later caller).
            del self._outcomes[key]
            outcome.cancel()
            raise
        outcome.set_result(value)
        return value
