"""Per-request counting of upstream HTTP requests and SQL statements.

A `CallCounter` is bound to a context variable at the start of each GraphQL
request. asyncio copies the context into every task created while handling
the request (DataLoader batches included), so the aiohttp trace hook in
`upstream/` and the SQLAlchemy cursor hook in `store/` add to the right
counter without being handed it. Outside a request nothing is counted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class CallCounter:
    """Mutable tallies for one request (shared by reference across its tasks)."""

    upstream: int = 0
    store: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"upstream": self.upstream, "store": self.store}


_current: ContextVar[CallCounter | None] = ContextVar("allocation_api_calls", default=None)


def current() -> CallCounter | None:
    """The counter of the request being handled, if any."""
    return _current.get()


def count_upstream(n: int = 1) -> None:
    """Record `n` HTTP requests sent to an upstream (called by the aiohttp trace hook)."""
    counter = _current.get()
    if counter is not None:
        counter.upstream += n


def count_store(n: int = 1) -> None:
    """Record `n` SQL statements sent to Postgres (called by the cursor hook)."""
    counter = _current.get()
    if counter is not None:
        counter.store += n


@contextlib.contextmanager
def track_calls() -> Iterator[CallCounter]:
    """Bind a fresh counter for the duration of the block and yield it."""
    counter = CallCounter()
    token = _current.set(counter)
    try:
        yield counter
    finally:
        _current.reset(token)
