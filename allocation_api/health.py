"""Health and info routes, in the shape the HMPPS services use.

- `/health/ping` and `/health/liveness`: the process answers (no I/O).
- `/health/readiness`: UP only while Postgres answers; DOWN (503) otherwise,
  so Kubernetes stops routing to a replica that cannot reach its store.
- `/health`: one component per dependency (Postgres, each upstream through
  its `/health/ping` with a short timeout, plus its circuit-breaker state;
  an upstream whose breaker is open is DOWN even if its ping answers; the
  outbox of domain events with its backlog, failing and parked counts and the
  age of its oldest pending event);
  status DOWN with 503 if any is down. The check runs at most once per
  `health_cache_s` (concurrent callers share one run), so no caller can make
  the service ping its upstreams on every request; the components are shown
  only to a caller with a valid bearer token (anyone else gets the status:
  which dependency is down and how the breakers stand is for operators).
- `/info`: name, version, build time, git commit and branch (`build_info.py`:
  recorded by the image build, else asked of git in a checkout, else
  "unknown"), mode. Never settings or secrets.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from allocation_api.auth.verify import bearer_token
from allocation_api.build_info import UNKNOWN, build_info
from allocation_api.errors import AuthError
from allocation_api.events.publisher import outbox_status
from allocation_api.resolvers.context import Services
from allocation_api.store.engine import ping as ping_store


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def ping(request: Request) -> Response:
    return _json({"status": "UP"})


async def liveness(request: Request) -> Response:
    return _json({"status": "UP"})


async def readiness(request: Request) -> Response:
    services: Services = request.app.state.services
    up = await ping_store(services.engine)
    return _json({"status": "UP" if up else "DOWN"}, 200 if up else 503)


class HealthCheck:
    """The last `/health` report, reused for `ttl_s`; one check runs at a time.

    The check runs in its own task, so a caller that disconnects (and is
    cancelled) does not cancel it for the others waiting on it."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._report: dict[str, Any] | None = None
        self._checked_at = 0.0
        self._running: asyncio.Task[dict[str, Any]] | None = None

    async def report(self, services: Services) -> dict[str, Any]:
        if self._report is not None and time.monotonic() - self._checked_at < self._ttl_s:
            return self._report
        if self._running is None:
            self._running = asyncio.create_task(_check(services), name="health-check")
            self._running.add_done_callback(self._finished)
        return await asyncio.shield(self._running)

    def _finished(self, task: asyncio.Task[dict[str, Any]]) -> None:
        self._running = None
        if not task.cancelled() and task.exception() is None:
            self._report = task.result()
            self._checked_at = time.monotonic()


async def _check(services: Services) -> dict[str, Any]:
    store_up, upstream_pings = await asyncio.gather(
        ping_store(services.engine), services.upstreams.pings()
    )
    breakers = services.upstreams.breakers()
    components: dict[str, Any] = {"db": {"status": "UP" if store_up else "DOWN"}}
    for name, up in upstream_pings.items():
        breaker = breakers.get(name, "closed")
        # An open breaker fails every call fast, whatever the ping says: for this
        # service the dependency is down until the breaker lets a probe through.
        components[name] = {
            "status": "UP" if up and breaker != "open" else "DOWN",
            "details": {"circuitBreaker": breaker},
        }
    components["events"] = await _events_component(services)
    all_up = all(c["status"] == "UP" for c in components.values())
    return {"status": "UP" if all_up else "DOWN", "components": components}


async def _events_component(services: Services) -> dict[str, Any]:
    """The outbox: backlog, failing and parked counts, oldest pending age.

    UP while the outbox can be read: a backlog or a parked event is for the
    operator to see (and alert on from the metrics), not a reason to take the
    service out of rotation; the store being down is already `db`."""
    try:
        status = await asyncio.wait_for(outbox_status(services.engine), timeout=2.0)
    except Exception:
        return {"status": "UNKNOWN", "details": {"error": "outbox not readable"}}
    return {"status": "UP", "details": status.as_dict()}


async def _authenticated(request: Request, services: Services) -> bool:
    """A valid bearer token; a missing or rejected one (or no JWKS) is anonymous here."""
    header = request.headers.get("authorization")
    if header is None:
        return False
    try:
        await services.verifier.verify(bearer_token(header))
    except AuthError:
        return False
    return True


async def health(request: Request) -> Response:
    services: Services = request.app.state.services
    check: HealthCheck = request.app.state.health_check
    report = await check.report(services)
    status = 200 if report["status"] == "UP" else 503
    if await _authenticated(request, services):
        return _json(report, status)
    return _json({"status": report["status"]}, status)


async def info(request: Request) -> Response:
    services: Services = request.app.state.services
    built = build_info()
    commit = built["commit"] if built["commit"] != UNKNOWN else services.settings.git_ref
    return _json(
        {
            "build": {"name": "allocation-api", "version": built["version"], "time": built["time"]},
            # `ref` is the commit too: the field clients read before commits and branches.
            "git": {"commit": commit, "branch": built["branch"], "ref": commit},
            "mode": services.settings.mode,
        }
    )
