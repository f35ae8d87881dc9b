"""Memory sub-test: many distinct query documents must not grow the server without bound.

The server caches parsed and validated documents by their text (LRU,
QUERY_CACHE_SIZE entries). A client that sends ever-new texts (generated
aliases, inlined literals) must see RSS plateau once the caches are full.
Each document `{ a<i>: __typename }` is valid, distinct and cheap, so what is
measured is the per-document state, not execution. RSS is read at
checkpoints; the growth over the second half is the number that matters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson

from bench.client import GraphQL, request_body


async def distinct_documents(
    gql: GraphQL,
    rss: Callable[[], int | None],
    *,
    count: int,
    concurrency: int,
    checkpoints: int = 10,
) -> dict[str, Any]:
    """Send `count` distinct documents; RSS (MiB) before, at checkpoints and after."""
    mib = 1024 * 1024

    def now() -> float | None:
        value = rss()
        return round(value / mib, 1) if value is not None else None

    before = now()
    marks: list[dict[str, Any]] = []
    failures = 0
    step = max(1, count // checkpoints)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        nonlocal failures
        alias = f"a{i}"
        async with gate:
            status, raw = await gql.post_raw(request_body(f"{{ {alias}: __typename }}"))
        if status != 200 or orjson.loads(raw).get("data") != {alias: "Query"}:
            failures += 1

    for start in range(0, count, step):
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + step))))
        marks.append({"sent": min(count, start + step), "rss_mib": now()})
    after = now()
    half = next((m for m in marks if m["sent"] >= count // 2), marks[0] if marks else None)
    growth = (
        round(after - half["rss_mib"], 1)
        if after is not None and half and half["rss_mib"] is not None
        else None
    )
    return {
        "documents": count,
        "failures": failures,
        "rss_before_mib": before,
        "rss_after_mib": after,
        "rss_growth_second_half_mib": growth,
        "checkpoints": marks,
    }
