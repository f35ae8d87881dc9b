"""Partial results: upstream-derived fields that could not be read.

When an upstream fails, the objects built from it still carry their owned
fields; each upstream-derived attribute holds an `Unavailable` marker instead
of a value. The schema's default resolver (`resolve_attribute`) raises the
marker's error when such a field is selected, so graphql-core nulls exactly
that field and reports the error at exactly its path, and the owned data
around it still arrives. Fields stay plain attributes (no resolver per field),
which keeps the hot path as cheap as graphql-core's own attribute lookup.

A marker stands where a field of another type is declared, a deliberate gap
in the types: the code that builds a partial object holds its marker in a
variable annotated `Any` (`schema/types.py`), so the gap is visible where it is
made and nowhere else.
"""

from __future__ import annotations

from typing import Any

from allocation_api.errors import AllocationApiError


class Unavailable:
    """Stands in for a value an upstream could not give; raises on read."""

    __slots__ = ("error",)

    def __init__(self, error: AllocationApiError) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"Unavailable({self.error.code})"


def resolve_attribute(source: Any, name: str) -> object:
    """Strawberry's default resolver: getattr, raising for `Unavailable` markers."""
    value = getattr(source, name)
    if type(value) is Unavailable:
        raise value.error
    return value
