"""Request counting by method and path template, and the read-only allow-list.

The service promises never to write to an upstream, and promises bounded
upstream traffic per GraphQL request. Both are checked from the outside: each
fake counts what it receives (`"GET /prisoner/{prisonerNumber}": 3`), and any
request that is not a read by contract is answered 405 and also tallied in a
separate lifetime record that `reset` does not clear, so a test at the end of
the suite can assert that no write was ever attempted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

UPSTREAMS: tuple[str, ...] = ("hmpps-auth", "prisoner-search", "prison-api", "nomis-user-roles")
"""The sandbox upstream names, exactly as `Sandbox.urls` keys them."""

READ_METHODS = frozenset({"GET", "HEAD"})

READ_POSTS: Mapping[str, frozenset[str]] = {
    "hmpps-auth": frozenset({"POST /auth/oauth/token", "POST /auth/sandbox/token"}),
    "prisoner-search": frozenset({"POST /prisoner-search/prisoner-numbers"}),
    "prison-api": frozenset({"POST /api/staff", "POST /api/movements/offenders"}),
    "nomis-user-roles": frozenset(),
}
"""POST endpoints that are reads by contract (batch lookups and token grants)."""


def is_read(upstream: str, method: str, template: str) -> bool:
    """True when `method template` is a read on `upstream` (GET/HEAD or an allow-listed POST)."""
    return method in READ_METHODS or f"{method} {template}" in READ_POSTS.get(upstream, ())


class RequestCounter:
    """Per-server tallies: resettable counts of everything, lifetime non-reads."""

    __slots__ = ("_counts", "_non_reads")

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._non_reads: Counter[str] = Counter()

    def record(self, key: str, *, read: bool) -> None:
        """Count one request under `key` ("METHOD /path/{template}")."""
        self._counts[key] += 1
        if not read:
            self._non_reads[key] += 1

    def counts(self) -> dict[str, int]:
        """Requests since the last reset, by key."""
        return dict(self._counts)

    def non_reads(self) -> dict[str, int]:
        """Every non-read request since the server started (never reset)."""
        return dict(self._non_reads)

    def reset(self) -> None:
        """Forget the counts (but not the non-read record)."""
        self._counts.clear()
