"""Turning decoded upstream JSON into `models` types, or a clear UpstreamRejected.

A body of the wrong shape is the upstream's fault, not ours: it must surface
as `UpstreamRejected` naming the upstream, never as a pydantic error from deep
inside a resolver.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from allocation_api.errors import UpstreamRejected

M = TypeVar("M", bound=BaseModel)


@contextmanager
def _rejected_unless_valid(upstream: str, what: str) -> Iterator[None]:
    try:
        yield
    except ValidationError as exc:
        raise UpstreamRejected(
            f"{upstream}: {what}: unexpected body ({exc.error_count()} problems)",
            upstream=upstream,
        ) from exc


def parse_one(model: type[M], body: Any, *, upstream: str, what: str) -> M:
    """Validate one JSON object as `model`."""
    with _rejected_unless_valid(upstream, what):
        return model.model_validate(body)


def parse_list(model: type[M], body: Any, *, upstream: str, what: str) -> list[M]:
    """Validate a bare JSON array of `model`; a missing body (204) is an empty list."""
    if body is None:
        return []
    if not isinstance(body, list):
        raise UpstreamRejected(f"{upstream}: {what}: expected a JSON array", upstream=upstream)
    return [parse_one(model, item, upstream=upstream, what=what) for item in body]


def parse_json(model: type[M], raw: bytes, *, upstream: str, what: str) -> M:
    """Validate a JSON body as `model` straight from its bytes (not JSON, or the
    wrong shape: `UpstreamRejected`, as for `parse_one`)."""
    with _rejected_unless_valid(upstream, what):
        return model.model_validate_json(raw)
