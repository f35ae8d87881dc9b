"""Health and info routes, in the shape the HMPPS services use.

- `/health/ping` and `/health/liveness`: the process answers (no I/O).
- `/health/readiness`: UP only while Postgres answers; DOWN (503) otherwise,
  so Kubernetes stops routing to a replica that cannot reach its store.
- `/health`: one component per dependency (Postgres, each upstream through
  its `/health/ping` with a short timeout, plus its circuit-breaker state;
  an upstream whose breaker is open is DOWN even if its ping answers);
  status DOWN with 503 if any is down.
- `/info`: name, version, git ref, mode. Never settings or secrets.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from allocation_api import __version__
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


async def health(request: Request) -> Response:
    services: Services = request.app.state.services
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
    all_up = all(c["status"] == "UP" for c in components.values())
    return _json(
        {"status": "UP" if all_up else "DOWN", "components": components}, 200 if all_up else 503
    )


async def info(request: Request) -> Response:
    services: Services = request.app.state.services
    return _json(
        {
            "build": {"name": "allocation-api", "version": __version__},
            "git": {"ref": services.settings.git_ref},
            "mode": services.settings.mode,
        }
    )
