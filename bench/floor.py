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


class Floor:
    """graphql-core set up once over one in-memory response, then measured in rounds."""

    def __init__(self, query: str, variables: dict[str, Any], data: dict[str, Any]) -> None:
        self.query = query
        self.variables = variables
        self.data = data
        self.schema = graphql.build_schema(SDL_PATH.read_text())
        self.document = graphql.parse(query)
        problems = graphql.validate(self.schema, self.document)
        if problems:
            raise RuntimeError(f"the floor query does not validate: {problems}")
        first = self._execute()
        if first.errors or first.data != data:
            raise RuntimeError(
                f"the floor does not reproduce the server's response: {first.errors}"
            )
        self.nodes = _count_nodes(data)

    def _execute(self) -> Any:
        return graphql.execute_sync(
            self.schema, self.document, root_value=self.data, variable_values=self.variables
        )

    def _full(self) -> bytes:
        parsed = graphql.parse(self.query)
        if graphql.validate(self.schema, parsed):
            raise RuntimeError("validation failed")
        result = graphql.execute_sync(
            self.schema, parsed, root_value=self.data, variable_values=self.variables
        )
        return orjson.dumps({"data": result.data})

    def execute_ms(self, iterations: int, rounds: int = 5) -> float:
        """CPU ms per execution only (the best of `rounds` rounds)."""
        return _timed(self._execute, iterations, rounds) * 1000

    def full_ms(self, iterations: int, rounds: int = 5) -> float:
        """CPU ms per parse + validate + execute + encode (the best of `rounds` rounds)."""
        return _timed(self._full, iterations, rounds) * 1000


def measure_floor(
    query: str, variables: dict[str, Any], data: dict[str, Any], iterations: int
) -> FloorResult:
    """Execute `query` `iterations` times over `data`; CPU ms per execution."""
    floor = Floor(query, variables, data)
    return FloorResult(
        iterations=iterations,
        execute_ms=floor.execute_ms(iterations),
        full_ms=floor.full_ms(max(1, iterations // 2)),
        graphql_core=graphql.__version__,
        nodes=floor.nodes,
    )


def _count_nodes(value: Any) -> int:
    """Leaf values in the response: a size measure for the notes."""
    if isinstance(value, dict):
        return sum(_count_nodes(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_nodes(v) for v in value)
    return 1
