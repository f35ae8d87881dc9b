"""Assertions shared by the access tests."""

from __future__ import annotations

from typing import Any

from allocation_api.sandbox import Sandbox

DATA_UPSTREAMS = ("prisoner-search", "prison-api", "nomis-user-roles")


def error_at(body: dict[str, Any], path: list[str | int]) -> dict[str, Any]:
    """The one error of `body` at exactly `path` (fails if there is none or several)."""
    found = [e for e in body.get("errors", []) if e.get("path") == path]
    assert len(found) == 1, f"expected one error at {path}, got {body.get('errors')}"
    return found[0]


def assert_forbidden_at(body: dict[str, Any], *paths: list[str | int]) -> None:
    """Exactly these paths errored, each with FORBIDDEN."""
    errors = body.get("errors", [])
    assert sorted(e.get("path") for e in errors) == sorted(paths), errors
    for error in errors:
        assert error["extensions"]["code"] == "FORBIDDEN", error


def assert_refused_before_execution(status: int, body: Any) -> dict[str, Any]:
    """HTTP 400, GraphQL errors, no `data`, and (dev) zero upstream and store calls."""
    assert status == 400, body
    assert isinstance(body, dict), body
    assert "data" not in body, body
    assert body["errors"], body
    assert body["extensions"]["calls"] == {"upstream": 0, "store": 0}, body
    return body["errors"][0]  # type: ignore[no-any-return]


def data_requests(sandbox: Sandbox) -> int:
    """Requests the data upstreams received (the sign-in service's JWKS excluded)."""
    return sum(sandbox.total_requests(name) for name in DATA_UPSTREAMS)
