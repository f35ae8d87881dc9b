"""SingleFlightCache: one upstream call per key however many ask at once; bounded; no
cached failures."""

from __future__ import annotations

import asyncio

import pytest

from allocation_api.caching import SingleFlightCache


class Fetcher:
    def __init__(self, delay: float = 0.01, fail: bool = False) -> None:
        self.calls: list[object] = []
        self.delay = delay
        self.fail = fail

    async def __call__(self, key: str) -> str:
        self.calls.append(key)
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("upstream down")
        return f"value-{key}"


async def test_concurrent_misses_share_one_fetch() -> None:
    cache: SingleFlightCache[str, str] = SingleFlightCache("t", ttl_s=60, maxsize=10)
    fetch = Fetcher()
    results = await asyncio.gather(*(cache.get("a", lambda: fetch("a")) for _ in range(20)))
    assert results == ["value-a"] * 20
    assert fetch.calls == ["a"]
    assert await cache.get("a", lambda: fetch("a")) == "value-a"
    assert fetch.calls == ["a"]  # served from the cache


async def test_failures_are_shared_but_not_cached() -> None:
    cache: SingleFlightCache[str, str] = SingleFlightCache("t", ttl_s=60, maxsize=10)
    broken = Fetcher(fail=True)
    outcomes = await asyncio.gather(
        *(cache.get("a", lambda: broken("a")) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert broken.calls == ["a"]
    healthy = Fetcher()
    assert await cache.get("a", lambda: healthy("a")) == "value-a"
    assert healthy.calls == ["a"]


async def test_ttl_zero_disables_storage() -> None:
    cache: SingleFlightCache[str, str] = SingleFlightCache("t", ttl_s=0, maxsize=10)
    fetch = Fetcher()
    await cache.get("a", lambda: fetch("a"))
    await cache.get("a", lambda: fetch("a"))
    assert fetch.calls == ["a", "a"]
    assert len(cache) == 0


async def test_bounded_and_invalidated() -> None:
    cache: SingleFlightCache[str, str] = SingleFlightCache("t", ttl_s=60, maxsize=3)
    fetch = Fetcher(delay=0)
    for key in "abcde":
        await cache.get(key, lambda k=key: fetch(k))  # type: ignore[misc]
    assert len(cache) == 3
    cache.invalidate("e")
    await cache.get("e", lambda: fetch("e"))
    assert fetch.calls.count("e") == 2
    cache.invalidate()
    assert len(cache) == 0


async def test_get_many_fetches_only_missing_and_remembers_absent() -> None:
    cache: SingleFlightCache[int, str | None] = SingleFlightCache("t", ttl_s=60, maxsize=10)
    batches: list[list[int]] = []

    async def fetch(keys: list[int]) -> dict[int, str | None]:
        batches.append(keys)
        return {k: f"staff-{k}" for k in keys if k != 404}

    assert await cache.get_many([1, 2, 404], fetch, absent=None) == ["staff-1", "staff-2", None]
    assert await cache.get_many([2, 3, 404], fetch, absent=None) == ["staff-2", "staff-3", None]
    assert batches == [[1, 2, 404], [3]]


@pytest.mark.parametrize("ttl", [0.05])
async def test_entries_expire(ttl: float) -> None:
    cache: SingleFlightCache[str, str] = SingleFlightCache("t", ttl_s=ttl, maxsize=10)
    fetch = Fetcher(delay=0)
    await cache.get("a", lambda: fetch("a"))
    await asyncio.sleep(ttl * 2)
    await cache.get("a", lambda: fetch("a"))
    assert fetch.calls == ["a", "a"]


def test_bounded_memo_answers_what_was_put_and_starts_again_empty_when_full() -> None:
    from allocation_api.caching import BoundedMemo

    memo: BoundedMemo[str, int] = BoundedMemo(maxsize=2)
    assert memo.put("a", 1) == 1
    memo.put("b", 2)
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (1, 2, None)
    memo.put("c", 3)  # full: everything else is dropped
    assert (len(memo), memo.get("a"), memo.get("c")) == (1, None, 3)
