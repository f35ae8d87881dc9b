"""`allocation-api dev`: the whole stack for a newcomer, in one process tree.

Embedded Postgres (unless a database URL is set), migrations, the sandbox
upstreams on free loopback ports, a few pre-made allocations made through
the API itself (so the rules and history apply), and the API with GraphiQL.
A local SNS/SQS broker (moto, a dev extra) receives the domain events
(`allocation-api events tail` prints them). Prints the GraphiQL URL and a ready
SPO token; writes `.allocation-api/dev.json`;
stops everything on SIGINT/SIGTERM. The sandbox signs with the key it keeps in
the same directory (made on first use), which is how `allocation-api token`,
asking the running sandbox, gets tokens this stack accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvicorn
from pydantic import SecretStr

from allocation_api.app import create_serving_app
from allocation_api.events.local_broker import LOCAL_CREDENTIALS, LOCAL_REGION, start_local_broker
from allocation_api.sandbox import Sandbox, start_sandbox
from allocation_api.settings import Settings
from allocation_api.store.embedded import start_embedded
from allocation_api.store.migrate import run_migrations
from allocation_api.web.server import server_config

log = logging.getLogger("allocation_api.dev")

SANDBOX_CLIENT_ID = "allocation-api"
SANDBOX_CLIENT_SECRET = "sandbox-secret"  # the sandbox's own credential, not a secret
DEV_USER = "SPO_MULTI"
DEV_TOKEN_SECONDS = 12 * 3600
SEED_PRISON = "LEI"
SEED_ALLOCATIONS = 20
SEED_CASE_INFORMATION = 40


def dev_json_path(settings: Settings) -> Path:
    return settings.data_dir / "dev.json"


def settings_for_sandbox(settings: Settings, sandbox: Sandbox, database_url: str) -> Settings:
    return settings_for_sandbox_urls(settings, sandbox.urls, database_url)


def settings_for_sandbox_urls(
    settings: Settings, urls: dict[str, str], database_url: str
) -> Settings:
    """Settings that reach the sandbox at `urls` (a running dev stack's `dev.json`)."""
    return settings.model_copy(
        update={
            "mode": "dev",
            "database_url": database_url or None,
            "prisoner_search_url": urls["prisoner-search"],
            "prison_api_url": urls["prison-api"],
            "nomis_user_roles_url": urls["nomis-user-roles"],
            "hmpps_auth_url": urls["hmpps-auth"],
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SecretStr(SANDBOX_CLIENT_SECRET),
            "migrate_on_start": False,
        }
    )


async def request_token(
    auth_url: str,
    *,
    username: str | None,
    roles: list[str],
    caseloads: list[str],
    expires_in: int = DEV_TOKEN_SECONDS,
) -> str:
    """A token from the sandbox sign-in service (which also registers the user's caseloads)."""
    body: dict[str, Any] = {"roles": roles, "expiresIn": expires_in}
    if username is None:
        body["clientId"] = "dev-client"
    else:
        body.update({"username": username, "caseloads": caseloads})
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{auth_url}/auth/sandbox/token", json=body) as response,
    ):
        response.raise_for_status()
        return str((await response.json())["access_token"])


async def _graphql(
    session: aiohttp.ClientSession, url: str, token: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    async with session.post(
        url,
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        body: dict[str, Any] = await response.json()
    if body.get("errors"):
        raise RuntimeError(f"seeding failed: {body['errors']}")
    return body["data"]  # type: ignore[no-any-return]


async def seed_allocations(api_url: str, token: str) -> int:
    """Case information and allocations at LEI, through the API (idempotent)."""
    url = f"{api_url}/graphql"
    async with aiohttp.ClientSession() as session:
        data = await _graphql(
            session,
            url,
            token,
            """query Seed($code: String!, $n: Int!) { prison(code: $code) {
                 summary { allocated }
                 poms { staffId pomType status }
                 prisoners(first: $n) { nodes { offenderNo caseInformation { tier } } } } }""",
            {"code": SEED_PRISON, "n": SEED_CASE_INFORMATION},
        )
        prison = data["prison"]
        if prison["summary"]["allocated"] > 0:
            return 0
        tiers = ["A", "B", "C", "D"]
        nodes = prison["prisoners"]["nodes"]
        for i, node in enumerate(nodes):
            if node["caseInformation"] is None:
                await _graphql(
                    session,
                    url,
                    token,
                    """mutation Case($input: CaseInformationInput!) {
                         updateCaseInformation(input: $input) { __typename } }""",
                    {
                        "input": {
                            "offenderNo": node["offenderNo"],
                            "tier": tiers[i % 4],
                            "probationService": "ENGLAND",
                            "mappaLevel": i % 3,
                        }
                    },
                )
        poms = [p for p in prison["poms"] if p["status"] == "ACTIVE"]
        made = 0
        for node in nodes[:SEED_ALLOCATIONS]:
            rec = await _graphql(
                session,
                url,
                token,
                "query R($no: String!) { prisoner(offenderNo: $no) { recommendedPomType } }",
                {"no": node["offenderNo"]},
            )
            wanted = rec["prisoner"]["recommendedPomType"]
            candidates = [p for p in poms if p["pomType"] == wanted] or poms
            pom = candidates[made % len(candidates)]
            reasons = [] if pom["pomType"] == wanted else ["NO_STAFF"]
            result = await _graphql(
                session,
                url,
                token,
                """mutation A($input: AllocatePrimaryPomInput!) {
                     allocatePrimaryPom(input: $input) {
                       __typename ... on Error { code message } } }""",
                {
                    "input": {
                        "offenderNo": node["offenderNo"],
                        "staffId": pom["staffId"],
                        "overrideReasons": reasons,
                        "message": "Allocated by the dev stack's seed",
                    }
                },
            )
            if result["allocatePrimaryPom"]["__typename"] == "Allocation":
                made += 1
            else:
                log.warning("seed allocation refused: %s", result["allocatePrimaryPom"])
        return made


def _token_command() -> str:
    """How to run `allocation-api token` from here: this installation's script, relative
    to the working directory when inside it (`.venv/bin/allocation-api`)."""
    script = Path(sys.executable).parent / "allocation-api"
    with contextlib.suppress(ValueError):
        script = script.relative_to(Path.cwd())
    return shlex.quote(str(script))


def banner(
    api_url: str, sandbox_urls: dict[str, str], made: int, token: str, *, events: bool = False
) -> str:
    """What `allocation-api dev` prints once up: URLs, and commands to copy as they are."""
    query = orjson.dumps({"query": f'{{ prison(code: "{SEED_PRISON}") {{ name }} }}'}).decode()
    return (
        f"\nAllocation API (dev) is up.\n"
        f"  GraphiQL:  {api_url}/graphql  (the token below is pre-filled)\n"
        f"  Sandbox:   {orjson.dumps(sandbox_urls).decode()}\n"
        f"  Seeded:    {made} new allocations at {SEED_PRISON}\n"
        f"  Events:    {'allocation-api events tail' if events else 'not published'}\n"
        f"  Token ({DEV_USER}, ROLE_ALLOC_MGR, 12 h):\n\n{token}\n\n"
        f"  In another shell, from this directory:\n\n"
        f"export TOKEN=$({_token_command()} token)\n"
        f"curl -s {api_url}/graphql -H 'Content-Type: application/json' "
        f'-H "Authorization: Bearer $TOKEN" -d {shlex.quote(query)}\n\n'
        f"Ctrl-C stops everything."
    )


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def run_dev(settings: Settings, *, host: str, port: int) -> None:
    """Run the stack until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        url = settings.database_url
        if url is None:
            embedded, url = await start_embedded(settings.data_dir)
            stack.callback(embedded.stop)
        await run_migrations(url)
        sandbox = await start_sandbox(
            seed=settings.sandbox_seed,
            prisoners_per_prison=settings.sandbox_prisoners_per_prison,
            latency_ms=settings.sandbox_latency_ms,
            client_id=SANDBOX_CLIENT_ID,
            client_secret=SANDBOX_CLIENT_SECRET,
            key_dir=settings.data_dir,
        )
        stack.push_async_callback(sandbox.close)
        app_settings = settings_for_sandbox(settings, sandbox, url)
        port = port or _free_port(host)
        api_url = f"http://{host}:{port}"
        broker = await start_local_broker()
        if broker is None:
            log.warning(
                "moto is not installed (the dev extra): no local broker, "
                "domain events stay in the outbox"
            )
        else:
            stack.callback(broker.stop)
            app_settings = app_settings.model_copy(
                update={
                    "events_topic_arn": broker.topic_arn,
                    "events_sns_endpoint_url": broker.endpoint,
                    "events_aws_region": LOCAL_REGION,
                    "events_aws_access_key_id": LOCAL_CREDENTIALS["aws_access_key_id"],
                    "events_aws_secret_access_key": SecretStr(
                        LOCAL_CREDENTIALS["aws_secret_access_key"]
                    ),
                    "events_detail_base_url": api_url,
                }
            )
        token = await request_token(
            sandbox.urls["hmpps-auth"],
            username=DEV_USER,
            roles=["ROLE_ALLOC_MGR"],
            caseloads=list(sandbox.data.prison_codes),
        )
        app = create_serving_app(app_settings, dev_token=token)
        server = uvicorn.Server(server_config(app, app_settings, host=host, port=port))
        # This process handles SIGINT/SIGTERM itself (below) to stop everything in order.
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                with contextlib.suppress(SystemExit):
                    await serving
                raise SystemExit("allocation-api dev: the API did not start (see the log above)")
            await asyncio.sleep(0.05)
        path = dev_json_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(
            orjson.dumps(
                {
                    "api": api_url,
                    "sandbox": sandbox.urls,
                    "events": None if broker is None else broker.as_dict(),
                },
                option=orjson.OPT_INDENT_2,
            )
        )
        stack.callback(path.unlink, missing_ok=True)
        made = await seed_allocations(api_url, token)
        print(banner(api_url, sandbox.urls, made, token, events=broker is not None), flush=True)
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        server.should_exit = True
        await serving
