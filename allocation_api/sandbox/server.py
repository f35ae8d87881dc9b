"""What every fake upstream shares: counting, faults, latency, bearer auth, control routes.

Each fake is a real aiohttp server on its own loopback port, so the service
under test goes through its real HTTP client, timeouts and retries. One
middleware does, in order: skip the sandbox control paths; count the request
by route template; refuse anything that is not a read (405); apply baseline
latency and any injected fault; demand a sandbox bearer token; then call the
handler and turn router errors into the upstream's own error body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from aiohttp import web

from allocation_api.sandbox.counting import RequestCounter, is_read
from allocation_api.sandbox.data import SandboxData
from allocation_api.sandbox.faults import Fault, FaultSwitch
from allocation_api.sandbox.tokens import TokenVerifier

ErrorBody = Callable[[int, str], Mapping[str, Any]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONTROL_PREFIX = "/__sandbox/"
_FAULTS_PATH = "/__sandbox/faults"
_HEALTH_PREFIXES = ("/health", "/auth/health")
_MALFORMED = b'{"status":"UP","content":[{"prisonerNumber":"A1234BC",'
_TRUNCATED = b'{"content":[{"prisonerNumber":"A1234BC","firstName":"JOHN",'
_SHUTDOWN_GRACE_S = 1.0


def json_response(
    body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response; `bytes` are sent as they are (pre-serialised), anything else via orjson."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return web.Response(body=raw, status=status, headers=headers, content_type="application/json")


class BadRequest(Exception):
    """Raised by handlers for malformed input; answered 400 with the upstream's error body."""


async def read_json(request: web.Request) -> object:
    """The request body as JSON, or BadRequest."""
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Malformed JSON request body: {exc}") from exc


class FakeUpstream:
    """One fake upstream server; subclasses add their routes in `routes`."""

    name: str = "upstream"
    public_paths: tuple[str, ...] = _HEALTH_PREFIXES
    """Path prefixes served without a bearer token."""

    def __init__(
        self,
        data: SandboxData,
        *,
        verifier: TokenVerifier | None,
        latency_ms: int = 0,
        fault_seed: int = 0,
    ) -> None:
        self.data = data
        self.verifier = verifier
        self.latency_ms = latency_ms
        self.counter = RequestCounter()
        self.faults = FaultSwitch(fault_seed)
        self.url = ""
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.app = web.Application(middlewares=[self._middleware], client_max_size=8 * 1024**2)
        router = self.app.router
        router.add_get("/__sandbox/requests", self._get_counts)
        router.add_delete("/__sandbox/requests", self._reset_counts)
        router.add_get(_FAULTS_PATH, self._get_fault)
        router.add_put(_FAULTS_PATH, self._put_fault)
        router.add_delete(_FAULTS_PATH, self._delete_fault)
        for path in ("/health/ping", *self.extra_ping_paths()):
            router.add_get(path, self._ping)
        self.routes(router)

    # ------------------------------------------------------------ subclass API
    def routes(self, router: web.UrlDispatcher) -> None:
        """Register the upstream's own routes."""

    def extra_ping_paths(self) -> tuple[str, ...]:
        """More paths answering like `/health/ping` (HMPPS Auth also has `/auth/health/ping`)."""
        return ()

    def error_body(self, status: int, message: str) -> Mapping[str, Any]:
        """The upstream's error JSON for `status`."""
        return {"status": status, "userMessage": message, "developerMessage": message}

    def error(self, status: int, message: str) -> web.Response:
        """An error response in this upstream's shape."""
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
        return json_response(self.error_body(status, message), status=status, headers=headers)

    # --------------------------------------------------------------- lifecycle
    async def start(self, host: str, port: int = 0) -> str:
        """Bind and serve; returns the base URL (no trailing slash)."""
        runner = web.AppRunner(
            self.app,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_GRACE_S,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else str(bound_host)
        self.url = f"http://{shown}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        """Release hanging requests, then shut down (bounded by a short grace period)."""
        self._stopping.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    # -------------------------------------------------------------- middleware
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith(CONTROL_PREFIX):
            # never counted; faulted only when a fault names the path (never the faults switch)
            named = self.faults.fault is not None and self.faults.fault.path is not None
            fault = self.faults.pick(path) if named and path != _FAULTS_PATH else None
            misbehaved = await self._apply(request, fault, 0)
            return misbehaved if misbehaved is not None else await handler(request)
        resource = request.match_info.route.resource
        template = resource.canonical if resource is not None else path
        method = request.method
        read = is_read(self.name, method, template)
        self.counter.record(f"{method} {template}", read=read)
        if not read:
            return self.error(
                405,
                f"Request method '{method}' is not supported (sandbox {self.name} is read-only)",
            )
        baseline = 0 if path.startswith(_HEALTH_PREFIXES) else self.latency_ms
        misbehaved = await self._apply(request, self.faults.pick(path), baseline)
        if misbehaved is not None:
            return misbehaved
        if self.verifier is not None and not path.startswith(self.public_paths):
            problem = self.verifier.check(request.headers.get("Authorization"))
            if problem is not None:
                return self.error(401, problem)
        try:
            return await handler(request)
        except BadRequest as exc:
            return self.error(400, str(exc))
        except web.HTTPException as exc:  # router: no such path (404) or method (405)
            if exc.status < 400:
                raise
            return self.error(exc.status, f"{exc.reason}: {method} {path}")

    async def _apply(
        self, request: web.Request, fault: Fault | None, baseline_ms: int
    ) -> web.StreamResponse | None:
        """Wait the baseline plus any fault latency; then the fault's answer, if it has one."""
        delay = baseline_ms + (fault.latency_ms if fault is not None else 0)
        if delay:
            await asyncio.sleep(delay / 1000)
        if fault is None:
            return None
        if fault.mode == "error":
            return self.error(fault.status, f"Sandbox fault: {fault.status} injected")
        if fault.mode == "malformed":
            return web.Response(body=_MALFORMED, content_type="application/json")
        if fault.mode == "truncate":
            return await self._truncate(request)
        if fault.mode == "hang":
            await self._stopping.wait()  # until shutdown, or cancelled when the client leaves
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=503)
        return None

    async def _truncate(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        response.content_type = "application/json"
        response.content_length = len(_TRUNCATED) + 4096
        await response.prepare(request)
        await response.write(_TRUNCATED)
        if request.transport is not None:
            request.transport.close()
        return response

    # ---------------------------------------------------------- control routes
    async def _ping(self, _request: web.Request) -> web.Response:
        return json_response({"status": "UP"})

    async def _get_counts(self, _request: web.Request) -> web.Response:
        return json_response(self.counter.counts())

    async def _reset_counts(self, _request: web.Request) -> web.Response:
        self.counter.reset()
        return web.Response(status=204)

    async def _get_fault(self, _request: web.Request) -> web.Response:
        fault = self.faults.fault
        return json_response(fault.to_json() if fault is not None else None)

    async def _put_fault(self, request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read())
            if not isinstance(body, dict):
                raise ValueError("a JSON object is expected")
            fault = Fault.from_json(body)
        except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
            return json_response({"status": 400, "developerMessage": str(exc)}, status=400)
        self.faults.fault = fault
        return json_response(fault.to_json())

    async def _delete_fault(self, _request: web.Request) -> web.Response:
        self.faults.fault = None
        return web.Response(status=204)
