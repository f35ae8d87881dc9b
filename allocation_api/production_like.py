"""`allocation-api sandbox --production-like`: `serve` end to end on one machine.

`serve` refuses the sandbox's sign-in service (its key is a sandbox key, by
design), so trying production mode locally needs a sign-in service of its
own. This starts:

* the sandbox's fake NOMIS upstreams (prisoner search, prison API, NOMIS
  user roles) and its sign-in service, which here only issues the service's
  own client-credentials tokens for upstream reads;
* a stand-in sign-in service (`StandInSignIn`) whose JWKS publishes one key
  made on the spot: an ordinary RSA-2048 key (public exponent 65537, not the
  sandbox's), kept in a new temporary directory readable by this user only,
  deleted at exit, never committed. It forwards the client-credentials grant
  to the sandbox and mints user tokens with its own key
  (`POST /auth/local/token`, registering the user's caseloads with the fake
  NOMIS user roles);
* an embedded PostgreSQL in that temporary directory, migrated;
* `allocation-api serve` itself, as a child process, with every required
  setting pointing at the above.

It prints one JSON line (`api`, `token`, `signIn`, `sandbox`) and then the
commands to try, and stops everything on SIGINT/SIGTERM or when `serve`
exits. Development only, like the rest of this package.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import secrets
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from allocation_api.sandbox.data import SandboxData
from allocation_api.sandbox.launcher import Sandbox, start_sandbox

log = logging.getLogger(__name__)

LOCAL_USER = "LOCAL_SPO"
LOCAL_CLIENT_SECRET_BYTES = 24
STARTUP_TIMEOUT_S = 120.0


def _b64url_uint(value: int) -> str:
    data = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_signing_key(directory: Path) -> tuple[rsa.RSAPrivateKey, Path]:
    """An ordinary RSA-2048 key (exponent 65537), stored owner-only in `directory`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = directory / "local_signing_key.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return key, path


class StandInSignIn:
    """A sign-in service for local production mode: one non-sandbox key, made on the spot."""

    def __init__(self, key: rsa.RSAPrivateKey, sandbox_auth_url: str, data: SandboxData) -> None:
        self.key = key
        self.kid = f"local-{uuid.uuid4().hex[:12]}"
        self._sandbox_auth_url = sandbox_auth_url
        self._data = data
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.url = ""

    @property
    def issuer(self) -> str:
        return f"{self.url}/auth/issuer"

    def public_jwk(self) -> dict[str, str]:
        numbers = self.key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "e": _b64url_uint(numbers.e),
            "use": "sig",
            "kid": self.kid,
            "alg": "RS256",
            "n": _b64url_uint(numbers.n),
        }

    def user_token(
        self,
        username: str,
        roles: Sequence[str] = ("ROLE_ALLOC_MGR",),
        caseloads: Sequence[str] | None = None,
        expires_in: int = 12 * 3600,
    ) -> str:
        """A user token signed with this service's key; the user's caseloads are
        registered with the fake NOMIS user roles, where the API reads them."""
        username = username.upper()
        authorities = [r if r.startswith("ROLE_") else f"ROLE_{r}" for r in roles]
        self._data.set_user(username, caseloads=caseloads, roles=authorities)
        now = int(time.time())
        claims = {
            "sub": username,
            "user_name": username,
            "name": username.replace("_", " ").title(),
            "authorities": authorities,
            "scope": ["read", "write"],
            "client_id": "allocation-api-local-ui",
            "auth_source": "nomis",
            "grant_type": "authorization_code",
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + expires_in,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(
            claims, self.key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"}
        )

    async def start(self, host: str = "127.0.0.1") -> None:
        app = web.Application()
        app.router.add_get("/auth/.well-known/jwks.json", self._jwks)
        app.router.add_get("/auth/issuer/.well-known/openid-configuration", self._openid)
        app.router.add_post("/auth/oauth/token", self._client_token)
        app.router.add_post("/auth/local/token", self._local_token)
        app.router.add_get("/auth/health/ping", self._ping)
        app.router.add_get("/health/ping", self._ping)
        self._http = aiohttp.ClientSession()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, 0).start()
        self.url = f"http://{host}:{self._runner.addresses[0][1]}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _jwks(self, _request: web.Request) -> web.Response:
        return web.json_response({"keys": [self.public_jwk()]})

    async def _openid(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.issuer,
                "jwks_uri": f"{self.url}/auth/.well-known/jwks.json",
                "token_endpoint": f"{self.url}/auth/oauth/token",
            }
        )

    async def _ping(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "UP"})

    async def _client_token(self, request: web.Request) -> web.Response:
        """The service's client-credentials grant, answered by the sandbox (whose
        upstream fakes accept only its tokens)."""
        assert self._http is not None
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in ("authorization", "content-type", "accept")
        }
        async with self._http.post(
            f"{self._sandbox_auth_url}/auth/oauth/token",
            params=request.query,
            data=await request.read(),
            headers=headers,
        ) as answer:
            return web.Response(
                body=await answer.read(), status=answer.status, content_type=answer.content_type
            )

    async def _local_token(self, request: web.Request) -> web.Response:
        """`{"username": ..., "roles": [...], "caseloads": [...]}` -> a user token."""
        try:
            body = await request.json()
            username = body["username"]
            roles = body.get("roles", ["ROLE_ALLOC_MGR"])
            caseloads = body.get("caseloads")
            if not isinstance(username, str) or not username.strip():
                raise ValueError("username")
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                raise ValueError("roles")
            if caseloads is not None and (
                not isinstance(caseloads, list) or not all(isinstance(c, str) for c in caseloads)
            ):
                raise ValueError("caseloads")
        except (ValueError, KeyError, TypeError) as error:
            return web.json_response(
                {"error": "invalid_request", "error_description": f"bad {error}"}, status=400
            )
        token = self.user_token(username.strip(), roles, caseloads)
        return web.json_response({"access_token": token, "token_type": "bearer"})


def _scratch_directories() -> tuple[Path, Path]:
    """A new temporary directory, traversable by the embedded PostgreSQL's user (as
    root it runs as another user), and an owner-only one inside it for the keys."""
    base = Path(tempfile.mkdtemp(prefix="allocation-api-local-"))
    base.chmod(0o755)
    keys = base / "keys"
    keys.mkdir(mode=0o700)
    return base, keys


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def _wait_until_serving(url: str, child: asyncio.subprocess.Process) -> bool:
    """True once `serve` answers /health/ping; False when it exited first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if child.returncode is not None:
                return False
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(
                    f"{url}/health/ping", timeout=aiohttp.ClientTimeout(total=2)
                ) as answer:
                    if answer.status == 200:
                        return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child.wait(), 0.2)
    return False


async def _stop_child(child: asyncio.subprocess.Process) -> None:
    if child.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(child.wait(), 20)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()


def serve_environment(
    *, database_url: str, sandbox: Sandbox, sign_in_url: str, client_secret: str
) -> dict[str, str]:
    """The environment `serve` runs with: the caller's, without its `ALLOCATION_API_*`
    settings, plus every required one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOCATION_API_")}
    env.update(
        {
            "ALLOCATION_API_MODE": "serve",
            "ALLOCATION_API_DATABASE_URL": database_url,
            "ALLOCATION_API_PRISONER_SEARCH_URL": sandbox.urls["prisoner-search"],
            "ALLOCATION_API_PRISON_API_URL": sandbox.urls["prison-api"],
            "ALLOCATION_API_NOMIS_USER_ROLES_URL": sandbox.urls["nomis-user-roles"],
            "ALLOCATION_API_HMPPS_AUTH_URL": sign_in_url,
            "ALLOCATION_API_CLIENT_ID": sandbox.client_id,
            "ALLOCATION_API_CLIENT_SECRET": client_secret,
        }
    )
    return env


async def run_production_like(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    seed: int = 42,
    prisoners_per_prison: int = 300,
    poms_per_prison: int = 12,
    stop: asyncio.Event | None = None,
) -> int:
    """Run the stack until SIGINT/SIGTERM (or `stop`); the exit status of the run."""
    from allocation_api.store.embedded import start_embedded
    from allocation_api.store.migrate import run_migrations

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    base, keys = _scratch_directories()
    try:
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(shutil.rmtree, base, ignore_errors=True)
            client_secret = secrets.token_urlsafe(LOCAL_CLIENT_SECRET_BYTES)
            sandbox = await start_sandbox(
                seed=seed,
                prisoners_per_prison=prisoners_per_prison,
                poms_per_prison=poms_per_prison,
                host=host,
                client_secret=client_secret,
                key_dir=keys,
            )
            stack.push_async_callback(sandbox.close)
            key, key_path = await asyncio.to_thread(new_signing_key, keys)
            sign_in = StandInSignIn(key, sandbox.urls["hmpps-auth"], sandbox.data)
            await sign_in.start(host)
            stack.push_async_callback(sign_in.close)
            embedded, database_url = await start_embedded(base / "db")
            stack.callback(embedded.stop)
            await run_migrations(database_url)

            port = port or _free_port(host)
            api = f"http://{host}:{port}"
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "allocation_api.cli",
                "serve",
                "--host",
                host,
                "--port",
                str(port),
                env=serve_environment(
                    database_url=database_url,
                    sandbox=sandbox,
                    sign_in_url=sign_in.url,
                    client_secret=client_secret,
                ),
                stdout=sys.stderr.fileno(),
                stderr=None,
            )
            stack.push_async_callback(_stop_child, child)
            if not await _wait_until_serving(api, child):
                print(
                    f"allocation-api sandbox --production-like: `serve` did not start "
                    f"(exit status {child.returncode}; see above)",
                    file=sys.stderr,
                    flush=True,
                )
                return 1
            token = sign_in.user_token(LOCAL_USER, caseloads=sandbox.data.prison_codes)
            summary: dict[str, Any] = {
                "api": api,
                "token": token,
                "signIn": sign_in.url,
                "sandbox": sandbox.urls,
            }
            print(json.dumps(summary), flush=True)
            print(_banner(api, sign_in, token, key_path), flush=True)
            exited = asyncio.create_task(child.wait())
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if exited.done() and not stop.is_set():
                print(
                    f"allocation-api sandbox --production-like: `serve` exited "
                    f"(status {child.returncode}); stopping",
                    file=sys.stderr,
                    flush=True,
                )
                return 1
            exited.cancel()
            return 0
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


def _banner(api: str, sign_in: StandInSignIn, token: str, key_path: Path) -> str:
    query = json.dumps({"query": '{ prison(code: "LEI") { name } }'})
    mint = json.dumps({"username": "SPO_LEI", "roles": ["ROLE_ALLOC_MGR"], "caseloads": ["LEI"]})
    return (
        f"\n`allocation-api serve` (production mode) is up at {api}\n"
        f"  sign-in stand-in: {sign_in.url} (its own key, {key_path}, deleted at exit)\n"
        f"  token ({LOCAL_USER}, ROLE_ALLOC_MGR, LEI/MDI/BXI, 12 h):\n\n"
        f"export TOKEN={token}\n"
        f"curl -s {api}/graphql -H 'Content-Type: application/json' "
        f'-H "Authorization: Bearer $TOKEN" -d {shlex.quote(query)}\n\n'
        f"  more tokens: curl -s {sign_in.url}/auth/local/token "
        f"-H 'Content-Type: application/json' -d {shlex.quote(mint)}\n"
        f"Ctrl-C stops everything."
    )
