"""Helpers for batched reads: dedupe keys, split them into chunks, read chunks concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def unique(keys: Iterable[K]) -> list[K]:
    """The keys without repeats, in first-seen order (so requests are deterministic)."""
    return list(dict.fromkeys(keys))


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    return [items[i : i + size] for i in range(0, len(items), size)]


async def gather_all(reads: Iterable[Awaitable[T]]) -> list[T]:
    """Await all reads concurrently; on the first failure cancel the rest and raise it.

    Unlike `asyncio.gather`, no sibling read is left running unattended after
    a failure, and unlike a bare `TaskGroup` the caller gets the upstream
    error itself rather than an ExceptionGroup.
    """
    failure: BaseException | None = None
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(read)) for read in reads]
    except BaseExceptionGroup as failed:
        failure = failed.exceptions[0]
        while isinstance(failure, BaseExceptionGroup):
            failure = failure.exceptions[0]
    if failure is not None:
        # Raised outside the handler so its own cause chain stays as it was.
        raise failure
    return [task.result() for task in tasks]


async def _awaited(read: Awaitable[T]) -> T:
    return await read
