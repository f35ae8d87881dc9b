"""`KeyedOnce`: one lookup per key per request, shared by concurrent callers,
with its outcome (value or error) memoised, nothing learnt from a cancellation, and
a cancellation confined to the caller it was meant for."""

from __future__ import annotations

import asyncio

import pytest

from allocation_api.keyed_once import KeyedOnce


class Lookup:
    def __init__(self, *, fail: bool = False, delay: float = 0.0) -> None:
        self.calls: list[str] = []
        self.fail = fail
        self.delay = delay

    async def __call__(self, key: str) -> str:
        self.calls.append(key)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise LookupError(f"no {key}")
        return key.upper()


async def test_each_key_is_looked_up_once() -> None:
    lookup = Lookup()
    memo = KeyedOnce(lookup)
    assert [await memo.load("a"), await memo.load("b"), await memo.load("a")] == ["A", "B", "A"]
    assert lookup.calls == ["a", "b"]


async def test_concurrent_callers_share_one_lookup() -> None:
    lookup = Lookup(delay=0.01)
    memo = KeyedOnce(lookup)
    assert await asyncio.gather(*(memo.load("a") for _ in range(5))) == ["A"] * 5
    assert lookup.calls == ["a"]


async def test_a_failure_is_memoised_like_a_dataloader_does() -> None:
    lookup = Lookup(fail=True, delay=0.01)
    memo = KeyedOnce(lookup)
    outcomes = await asyncio.gather(memo.load("a"), memo.load("a"), return_exceptions=True)
    assert all(isinstance(o, LookupError) for o in outcomes)
    with pytest.raises(LookupError, match="no a"):
        await memo.load("a")
    assert lookup.calls == ["a"]


async def test_a_cancelled_lookup_is_run_again_by_the_next_caller() -> None:
    lookup = Lookup(delay=1.0)
    memo = KeyedOnce(lookup)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(memo.load("a"), timeout=0.05)
    lookup.delay = 0.0
    assert await memo.load("a") == "A"
    assert lookup.calls == ["a", "a"]


async def test_a_memoised_value_is_returned_without_suspending() -> None:
    """The point of it: no turn of the event loop for a key already known."""
    memo = KeyedOnce(Lookup())
    await memo.load("a")
    coroutine = memo.load("a")
    with pytest.raises(StopIteration) as finished:
        coroutine.send(None)
    assert finished.value.value == "A"


async def test_a_cancelled_first_caller_does_not_cancel_its_neighbour() -> None:
    """The neighbour that was not cancelled gets the value (one more lookup), not
    the first caller's CancelledError."""
    lookup = Lookup(delay=0.05)
    memo = KeyedOnce(lookup)
    first = asyncio.create_task(memo.load("a"))
    await asyncio.sleep(0)  # the first caller is running the lookup
    neighbour = asyncio.create_task(memo.load("a"))
    await asyncio.sleep(0)  # the neighbour waits on the shared outcome
    first.cancel()
    assert await neighbour == "A"
    assert first.cancelled()
    assert lookup.calls == ["a", "a"]
    assert await memo.load("a") == "A"
    assert lookup.calls == ["a", "a"]


async def test_a_cancelled_waiter_does_not_cancel_the_shared_lookup() -> None:
    lookup = Lookup(delay=0.05)
    memo = KeyedOnce(lookup)
    first = asyncio.create_task(memo.load("a"))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(memo.load("a"))
    await asyncio.sleep(0)
    waiter.cancel()
    assert await first == "A"
    assert waiter.cancelled()
    assert lookup.calls == ["a"]


async def test_every_waiter_of_a_cancelled_lookup_shares_one_retry() -> None:
    lookup = Lookup(delay=0.05)
    memo = KeyedOnce(lookup)
    first = asyncio.create_task(memo.load("a"))
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(memo.load("a")) for _ in range(4)]
    await asyncio.sleep(0)
    first.cancel()
    assert await asyncio.gather(*waiters) == ["A"] * 4
    assert lookup.calls == ["a", "a"]
