"""The in-memory floor: graphql-core executing `prisonPage` over data already in memory.

What would the same query cost with no I/O at all? The real exported SDL
(allocation_api/schema/schema.graphql) is built into a plain graphql-core
schema with default resolvers, and one real `prisonPage` response's `data`
is the root value (default resolvers read dict keys, enums serialise by
name), so the executor walks exactly the response the server produced. The
first execution is compared with that response to prove the two did the same
work. CPU time is `time.process_time()` of this process, measured after the
load runs so nothing else competes.

Two floors are reported: `execute` only (the server caches parsed and
validated documents, so this is the like-for-like one) and `full`
(parse + validate + execute + orjson encoding of the response).
"""

from __future__ import annotations

import gc
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import graphql
import orjson

import allocation_api

SDL_PATH = Path(allocation_api.__file__).resolve().parent / "schema" / "schema.graphql"


@dataclass
class FloorResult:
    """CPU per execution of graphql-core over in-memory dicts."""

    iterations: int
    execute_ms: float
    full_ms: float
    graphql_core: str
    nodes: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _timed(fn: Any, iterations: int, rounds: int = 5) -> float:
    """CPU seconds per call: the best of `rounds` rounds (as `timeit` advises), so a
    collection or a neighbour's burst in one round does not move the floor."""
    per_round = max(1, iterations // rounds)
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        for _ in range(per_round):
            fn()
        best = min(best, (time.process_time() - start) / per_round)
    return best


def measure_floor(
    query: str, variables: dict[str, Any], data: dict[str, Any], iterations: int
) -> FloorResult:
    """Execute `query` `iterations` times over `data`; CPU ms per execution."""
    schema = graphql.build_schema(SDL_PATH.read_text())
    document = graphql.parse(query)
    problems = graphql.validate(schema, document)
    if problems:
        raise RuntimeError(f"the floor query does not validate: {problems}")

    def execute() -> Any:
        return graphql.execute_sync(schema, document, root_value=data, variable_values=variables)

    first = execute()
    if first.errors or first.data != data:
        raise RuntimeError(f"the floor does not reproduce the server's response: {first.errors}")

    def full() -> bytes:
        parsed = graphql.parse(query)
        if graphql.validate(schema, parsed):
            raise RuntimeError("validation failed")
        result = graphql.execute_sync(schema, parsed, root_value=data, variable_values=variables)
        return orjson.dumps({"data": result.data})

    execute_s = _timed(execute, iterations)
    full_s = _timed(full, max(1, iterations // 2))
    nodes = _count_nodes(data)
    return FloorResult(
        iterations=iterations,
        execute_ms=execute_s * 1000,
        full_ms=full_s * 1000,
        graphql_core=graphql.__version__,
        nodes=nodes,
    )


def _count_nodes(value: Any) -> int:
    """Leaf values in the response: a size measure for the notes."""
    if isinstance(value, dict):
        return sum(_count_nodes(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_nodes(v) for v in value)
    return 1
