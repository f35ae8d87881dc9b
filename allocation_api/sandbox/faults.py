"""Fault injection: what a fake does instead of (or before) answering normally.

Resilience code (timeouts, retries, circuit breakers, error translation) can
only be tested against real misbehaviour on a real socket: a slow answer, an
error status, a connection that never answers, a body that is not JSON, a
body cut short. One `Fault` per server; `rate` draws from a seeded RNG so a
flaky run replays identically.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

FaultMode = Literal["error", "hang", "malformed", "truncate"]
_MODES: tuple[str, ...] = get_args(FaultMode)
_ALWAYS_SPARED = ("/health", "/auth/health")


@dataclass(frozen=True, slots=True)
class Fault:
    """How a fake misbehaves.

    mode None means pure latency. `path` limits the fault to paths starting
    with it; without it, health pings stay healthy (a failing dependency in
    production still answers its ping as often as not, and tests want to
    fault the data path alone).
    """

    status: int = 503
    latency_ms: int = 0
    mode: FaultMode | None = "error"
    rate: float = 1.0
    path: str | None = None

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status, got {self.status}")
        if self.latency_ms < 0:
            raise ValueError("latencyMs must not be negative")
        if self.mode is not None and self.mode not in _MODES:
            raise ValueError(f"mode must be one of {', '.join(_MODES)}, got {self.mode!r}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")

    @classmethod
    def latency(cls, latency_ms: int, *, rate: float = 1.0, path: str | None = None) -> Fault:
        """A pure delay, the answer itself unchanged."""
        return cls(latency_ms=latency_ms, mode=None, rate=rate, path=path)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Fault:
        """Parse the `PUT /__sandbox/faults` body.

        Without `mode`, an explicit `status` means an error and no status means
        pure latency, so `{"latencyMs": 500}` and `{"status": 500}` both read
        as intended.
        """
        unknown = set(body) - {"status", "latencyMs", "mode", "rate", "path"}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        mode = body.get("mode", "error" if "status" in body else None)
        path = body.get("path")
        if path is not None and not (isinstance(path, str) and path.startswith("/")):
            raise ValueError("path must be a path prefix starting with /")
        return cls(
            status=_int(body.get("status", 503), "status"),
            latency_ms=_int(body.get("latencyMs", 0), "latencyMs"),
            mode=mode,
            rate=float(body.get("rate", 1.0)),
            path=path,
        )

    def to_json(self) -> dict[str, Any]:
        """The fault in the control API's field names (null fields left out)."""
        out: dict[str, Any] = {"status": self.status, "latencyMs": self.latency_ms}
        out["rate"] = self.rate
        if self.mode is not None:
            out["mode"] = self.mode
        if self.path is not None:
            out["path"] = self.path
        return out

    def covers(self, path: str) -> bool:
        """Whether this fault is meant for a request to `path`."""
        if self.path is not None:
            return path.startswith(self.path)
        return not path.startswith(_ALWAYS_SPARED)


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    return value


class FaultSwitch:
    """The current fault of one server and the seeded coin that applies `rate`."""

    __slots__ = ("_rng", "fault")

    def __init__(self, seed: int = 0) -> None:
        self.fault: Fault | None = None
        self._rng = random.Random(seed)

    def pick(self, path: str) -> Fault | None:
        """The fault to apply to this request, if any."""
        fault = self.fault
        if fault is None or not fault.covers(path):
            return None
        if fault.rate < 1.0 and self._rng.random() >= fault.rate:
            return None
        return fault
