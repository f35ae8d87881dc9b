"""Start, inspect and stop the four fake upstreams as one `Sandbox`.

Used three ways: in-process by the test-suite (`async with await
start_sandbox() as sandbox`), by `allocation-api dev` next to the API, and by
`allocation-api sandbox` through `run_sandbox_forever`. The servers share one
`SandboxData`, so what prisoner search, prison-api and NOMIS user roles say
agrees, one signing key (`keys.py`, kept in `key_dir`) and one token
verifier bound to the fake sign-in service's issuer and that key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO, overload

from allocation_api.sandbox.counting import UPSTREAMS
from allocation_api.sandbox.data import SandboxData
from allocation_api.sandbox.faults import Fault
from allocation_api.sandbox.hmpps_auth import HmppsAuth
from allocation_api.sandbox.keys import SandboxKey, load_sandbox_key
from allocation_api.sandbox.nomis_user_roles import NomisUserRoles
from allocation_api.sandbox.prison_api import PrisonApi
from allocation_api.sandbox.prisoner_search import PrisonerSearch
from allocation_api.sandbox.server import FakeUpstream
from allocation_api.sandbox.tokens import TokenVerifier

DEFAULT_CLIENT_ID = "allocation-api"
DEFAULT_CLIENT_SECRET = "sandbox-secret"
_DEFAULT_PRISONS = ("LEI", "MDI", "BXI")


class Sandbox:
    """Four running fake upstreams and the data behind them."""

    def __init__(
        self,
        data: SandboxData,
        auth: HmppsAuth,
        others: Sequence[FakeUpstream],
        verifier: TokenVerifier,
    ) -> None:
        self.data = data
        self.auth = auth
        self.verifier = verifier
        self.servers: dict[str, FakeUpstream] = {s.name: s for s in (auth, *others)}
        self.urls: dict[str, str] = {name: self.servers[name].url for name in UPSTREAMS}
        """Base URL per upstream name, no trailing slash."""
        self.issuer: str = auth.issuer
        self.key: SandboxKey = auth.key
        self.client_id: str = auth.client_id
        self.client_secret: str = auth.client_secret

    # ------------------------------------------------------------------ counts
    @overload
    def request_counts(self) -> dict[str, dict[str, int]]: ...
    @overload
    def request_counts(self, upstream: str) -> dict[str, int]: ...
    def request_counts(
        self, upstream: str | None = None
    ) -> dict[str, int] | dict[str, dict[str, int]]:
        """Counts by "METHOD /template" for one upstream, or {upstream: counts} for all."""
        if upstream is not None:
            return self._server(upstream).counter.counts()
        return {name: s.counter.counts() for name, s in self.servers.items()}

    def total_requests(self, upstream: str | None = None) -> int:
        """How many requests one upstream (or all of them) received since the last reset."""
        names = [upstream] if upstream is not None else list(self.servers)
        return sum(sum(self._server(n).counter.counts().values()) for n in names)

    def reset_counts(self, upstream: str | None = None) -> None:
        """Zero the counts (the non-read record is kept: see `non_read_requests`)."""
        for name in [upstream] if upstream is not None else list(self.servers):
            self._server(name).counter.reset()

    def non_read_requests(self) -> dict[str, int]:
        """Every request that was not a read, since start: {"<upstream> METHOD /path": n}."""
        return {
            f"{name} {key}": n
            for name, server in self.servers.items()
            for key, n in server.counter.non_reads().items()
        }

    # ------------------------------------------------------------------ faults
    def set_fault(self, upstream: str, fault: Fault) -> None:
        """Make one upstream misbehave (replaces its current fault)."""
        self._server(upstream).faults.fault = fault

    def clear_faults(self, upstream: str | None = None) -> None:
        """Remove the fault of one upstream, or of all."""
        for name in [upstream] if upstream is not None else list(self.servers):
            self._server(name).faults.fault = None

    # ------------------------------------------------------------------ tokens
    def mint_token(self, **kwargs: Any) -> str:
        """`keys.mint_token` with this sandbox's issuer and key filled in."""
        return self.key.mint(self.issuer, **kwargs)

    def user_token(
        self,
        username: str,
        *,
        roles: Sequence[str] = (),
        caseloads: Sequence[str] | None = None,
        staff_id: int | None = None,
        name: str | None = None,
        expires_in: int = 1200,
    ) -> str:
        """A user token, the user registered with NOMIS user roles (as `/auth/sandbox/token`)."""
        first, _, last = (name or "").partition(" ")
        user = self.data.set_user(
            username,
            caseloads=caseloads,
            staff_id=staff_id,
            first_name=first or None,
            last_name=last or None,
            roles=roles,
        )
        return self.key.mint(
            self.issuer,
            username=user.username,
            roles=roles,
            client_id="allocation-api-sandbox-ui",
            name=name,
            expires_in=expires_in,
        )

    def revoke_tokens(self) -> None:
        """Make the data upstreams answer 401 to every token they accepted so far."""
        self.verifier.revoke_all()

    # --------------------------------------------------------------- lifecycle
    async def close(self) -> None:
        """Stop all servers (hanging requests are released first)."""
        await asyncio.gather(*(s.stop() for s in self.servers.values()))

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _server(self, upstream: str) -> FakeUpstream:
        try:
            return self.servers[upstream]
        except KeyError:
            raise KeyError(
                f"unknown upstream {upstream!r}; one of {', '.join(UPSTREAMS)}"
            ) from None


async def start_sandbox(
    *,
    data: SandboxData | None = None,
    seed: int = 42,
    prisoners_per_prison: int = 300,
    prisons: Sequence[str] = _DEFAULT_PRISONS,
    poms_per_prison: int = 12,
    host: str = "127.0.0.1",
    latency_ms: int = 0,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    ports: Mapping[str, int] | None = None,
    key_dir: Path | None = None,
) -> Sandbox:
    """Generate (or take) the data and start the four fakes; port 0 = any free port.

    `latency_ms` delays every request except health pings and sandbox
    control (the benchmark uses 20 ms to make upstream calls cost something).
    Tokens are signed with the key kept in `key_dir` (default
    `./.allocation-api/`), made there on first use.
    """
    unknown = set(ports or {}) - set(UPSTREAMS)
    if unknown:
        raise ValueError(f"unknown upstream(s) in ports: {', '.join(sorted(unknown))}")
    port_of = dict(ports or {})
    if data is None:
        data = await asyncio.to_thread(
            SandboxData.generate,
            seed=seed,
            prisoners_per_prison=prisoners_per_prison,
            prisons=prisons,
            poms_per_prison=poms_per_prison,
        )
    key = await asyncio.to_thread(load_sandbox_key, key_dir)
    auth = HmppsAuth(
        data,
        key=key,
        client_id=client_id,
        client_secret=client_secret,
        latency_ms=latency_ms,
        fault_seed=1,
    )
    started: list[FakeUpstream] = []
    try:
        await auth.start(host, port_of.get(auth.name, 0))
        started.append(auth)
        verifier = TokenVerifier(auth.issuer, key.private_key.public_key())
        others: list[FakeUpstream] = [
            cls(data, verifier=verifier, latency_ms=latency_ms, fault_seed=i + 2)
            for i, cls in enumerate((PrisonerSearch, PrisonApi, NomisUserRoles))
        ]
        for server in others:
            await server.start(host, port_of.get(server.name, 0))
            started.append(server)
    except BaseException:
        await asyncio.gather(*(s.stop() for s in started), return_exceptions=True)
        raise
    return Sandbox(data, auth, others, verifier)


async def run_sandbox_forever(
    *,
    seed: int = 42,
    prisoners_per_prison: int = 300,
    prisons: Sequence[str] = _DEFAULT_PRISONS,
    poms_per_prison: int = 12,
    host: str = "127.0.0.1",
    latency_ms: int = 0,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    ports: Mapping[str, int] | None = None,
    key_dir: Path | None = None,
    out: TextIO | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the sandbox until SIGINT/SIGTERM (or `stop` is set); prints the URLs as JSON.

    The one printed line is `{"hmpps-auth": url, "prisoner-search": url, ...}`
    so scripts can read it; how to get a token goes to stderr.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        async with await start_sandbox(
            seed=seed,
            prisoners_per_prison=prisoners_per_prison,
            prisons=prisons,
            poms_per_prison=poms_per_prison,
            host=host,
            latency_ms=latency_ms,
            client_id=client_id,
            client_secret=client_secret,
            ports=ports,
            key_dir=key_dir,
        ) as sandbox:
            stream = out or sys.stdout
            stream.write(json.dumps(sandbox.urls) + "\n")
            stream.flush()
            auth = sandbox.urls["hmpps-auth"]
            print(
                f"sandbox ready; client {client_id!r} / {client_secret!r}; user tokens: "
                f'POST {auth}/auth/sandbox/token {{"username": ..., "roles": [...], '
                f'"caseloads": [...]}}. Ctrl-C stops.',
                file=sys.stderr,
                flush=True,
            )
            await stop.wait()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
