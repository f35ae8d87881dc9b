"""Cross-request caches for slowly changing upstream data.

`cachetools.TTLCache` does the bounded, expiring storage (a well-kept
library); what it lacks for asyncio is single-flight: when many requests miss
the same key at once, exactly one upstream call must be made and the others
must wait for its answer. `SingleFlightCache` adds that with one future per
key in flight. Failures are never cached, so the next caller tries again.

A TTL of 0 disables a cache (every call goes upstream; concurrent callers
within one event-loop tick still share the one in-flight call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

from cachetools import TTLCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MISSING = object()


class SingleFlightCache(Generic[K, V]):
    """A bounded TTL cache whose concurrent misses for one key share one fetch."""

    def __init__(self, name: str, *, ttl_s: float, maxsize: int) -> None:
        self.name = name
        self.ttl_s = ttl_s
        self._store: TTLCache[K, V] | None = (
            TTLCache(maxsize=maxsize, ttl=ttl_s) if ttl_s > 0 else None
        )
        self._in_flight: dict[K, asyncio.Future[V]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return 0 if self._store is None else len(self._store)

    def peek(self, key: K) -> V | object:
        """The cached value or `_MISSING`; never fetches."""
        if self._store is None:
            return _MISSING
        return self._store.get(key, _MISSING)

    def put(self, key: K, value: V) -> None:
        if self._store is not None:
            self._store[key] = value

    def invalidate(self, key: K | None = None) -> None:
        """Forget one key (or everything): called where our own writes make data stale."""
        if self._store is None:
            return
        if key is None:
            self._store.clear()
        else:
            self._store.pop(key, None)

    async def get(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        """The cached value for `key`, fetching it once if absent."""
        cached = self.peek(key)
        if cached is not _MISSING:
            self.hits += 1
            return cached  # type: ignore[return-value]
        waiting = self._in_flight.get(key)
        if waiting is not None:
            self.hits += 1
            return await asyncio.shield(waiting)
        self.misses += 1
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            value = await fetch()
        except BaseException as error:
            future.set_exception(error)
            # Retrieve it so an unobserved failure never logs "exception never retrieved".
            future.exception()
            raise
        else:
            self.put(key, value)
            future.set_result(value)
            return value
        finally:
            del self._in_flight[key]

    async def get_many(
        self,
        keys: Sequence[K],
        fetch_missing: Callable[[list[K]], Awaitable[dict[K, V]]],
        *,
        absent: V,
    ) -> list[V]:
        """Values for `keys` in order; one batched fetch for the keys not cached.

        Keys the fetch does not return are remembered as `absent` too (an unknown
        staff id stays unknown for the TTL), which keeps lookups of missing keys
        from going upstream every time.
        """
        found: dict[K, V] = {}
        missing: list[K] = []
        for key in keys:
            cached = self.peek(key)
            if cached is _MISSING:
                missing.append(key)
            else:
                found[key] = cached  # type: ignore[assignment]
        self.hits += len(keys) - len(missing)
        if missing:
            self.misses += len(missing)
            fetched = await fetch_missing(missing)
            for key in missing:
                value = fetched.get(key, absent)
                self.put(key, value)
                found[key] = value
        return [found[key] for key in keys]


class BoundedMemo(Generic[K, V]):
    """A memo of pure answers for hot paths: a plain dict that starts again empty
    when full. An LRU's bookkeeping cost as much as the work it saved there;
    what a cleared memo loses is recomputed on the next request."""

    def __init__(self, maxsize: int) -> None:
        self._maxsize = max(1, maxsize)
        self._entries: dict[K, V] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def put(self, key: K, value: V) -> V:
        if len(self._entries) >= self._maxsize:
            self._entries.clear()
        self._entries[key] = value
        return value
