"""Field metadata the GraphQL types declare, read by the execution machinery.

This module holds plain values only and imports no graphql-core or strawberry
internals, so the types can declare their fields whatever graphql-core is
installed: `schema/fast_execution.py` (the one module that touches engine
internals) reads these markers when it loads, and plain strawberry ignores
them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allocation_api.schema.permissions import INHERIT

DIRECT = "allocation_api.direct"
"""Field metadata key: `fn(context, source)` resolves the field without strawberry's wrappers."""

DirectResolver = Callable[[Any, Any], object]


def direct(fn: DirectResolver) -> dict[str, object]:
    """Metadata for a field covered by its parent's permission and resolved by `fn(ctx, source)`.

    The decorated method must do exactly what `fn` does; it stays as the
    declaration strawberry types the field from, and as the resolver whenever
    the fast paths are off.
    """
    return {**INHERIT, DIRECT: fn}
