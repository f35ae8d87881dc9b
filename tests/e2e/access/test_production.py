"""`serve` mode: refuses sandbox keys at start; hardened once running.

Against the sandbox sign-in service (whose JWKS always publishes a sandbox
key, recognisable by its exponent and kid: see `auth/jwks.py`) `serve` must
not start, and no sandbox key may ever verify a token in production. The other production behaviours are
checked on a `serve` instance whose sign-in service (`OwnSignIn`) publishes
only a key of our own, on a scratch database with one table dropped, so
that one query fails in a way nobody planned for (an unexpected error).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from allocation_api.app import create_app
from allocation_api.errors import ConfigurationError
from allocation_api.sandbox import Sandbox
from allocation_api.sandbox.keys import SANDBOX_KID, load_sandbox_key, sandbox_public_jwk
from allocation_api.store.testing import database_for_tests, drop_database_for_tests
from allocation_api.store.urls import asyncpg_url
from tests.conftest import RunningApi, running_api, settings_for
from tests.e2e.access.forge import OWN_KID, own_key, public_jwk, zero_padded
from tests.e2e.access.signin import OwnSignIn

PROD_SPO = "ACCESS_PROD_SPO"
POM_AT_LEI = 485001
DROPPED_TABLE = "pom_detail"


@pytest.fixture(scope="module")
async def own_signin(sandbox: Sandbox) -> AsyncIterator[OwnSignIn]:
    signin = OwnSignIn(sandbox.urls["hmpps-auth"])
    await signin.start()
    try:
        yield signin
    finally:
        await signin.close()


@pytest.fixture(scope="module")
async def broken_database_url() -> AsyncIterator[str]:
    """A migrated scratch database missing one table: reading POM details is a bug."""
    url = await database_for_tests()
    engine = create_async_engine(asyncpg_url(url), poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql(f"DROP TABLE {DROPPED_TABLE} CASCADE")
    finally:
        await engine.dispose()
    try:
        yield url
    finally:
        await drop_database_for_tests(url)


@pytest.fixture(scope="module")
async def prod(
    sandbox: Sandbox, own_signin: OwnSignIn, broken_database_url: str
) -> AsyncIterator[RunningApi]:
    settings = settings_for(
        sandbox, broken_database_url, mode="serve", hmpps_auth_url=own_signin.url
    )
    assert not settings.is_dev
    assert not settings.debug_extensions_on
    async with running_api(settings, sandbox) as running:
        yield running


@pytest.fixture(scope="module")
def spo_token(sandbox: Sandbox, own_signin: OwnSignIn) -> str:
    sandbox.data.set_user(PROD_SPO, caseloads=["LEI"])
    return own_signin.user_token(PROD_SPO, ["ROLE_ALLOC_MGR"])


async def _post(api: RunningApi, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    status, answer = await api.post(body, token=token)
    assert isinstance(answer, dict), answer
    return status, answer


# --- refusing the sandbox key --------------------------------------------------------


async def test_serve_refuses_to_start_on_the_sandbox_sign_in(
    sandbox: Sandbox, database_url: str
) -> None:
    app = create_app(settings_for(sandbox, database_url, mode="serve"))
    with pytest.raises(ConfigurationError, match="refused signing key") as refused:
        async with app.router.lifespan_context(app):
            pytest.fail("the serve-mode app started against the sandbox signing key")
    assert sandbox.urls["hmpps-auth"] in refused.value.message


async def test_uvicorn_exits_on_the_sandbox_sign_in(
    sandbox: Sandbox, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """What an operator sees: startup fails, the reason is logged, the process exits."""
    app = create_app(settings_for(sandbox, database_url, mode="serve"))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(caplog.handler)
    try:
        # Awaited here, not in a task: uvicorn ends a failed startup with sys.exit,
        # which must not escape into the test session's event loop.
        with pytest.raises(SystemExit) as exited:
            await server.serve()
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    assert exited.value.code == 3  # uvicorn's STARTUP_FAILURE
    assert not server.started
    logged = caplog.text
    assert "Application startup failed" in logged
    assert "ConfigurationError" in logged
    assert "production must not trust the sandbox key" in logged


async def test_serve_command_refuses_the_sandbox_sign_in_in_one_line(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> None:
    """`allocation-api serve` itself: exit status 2 and one sentence on stderr, no traceback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = settings_for(sandbox, database_url, mode="serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOCATION_API_")}
    for name in (
        "database_url",
        "prisoner_search_url",
        "prison_api_url",
        "nomis_user_roles_url",
        "hmpps_auth_url",
        "client_id",
    ):
        env[f"ALLOCATION_API_{name.upper()}"] = str(getattr(settings, name))
    env["ALLOCATION_API_CLIENT_SECRET"] = "sandbox-secret"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "allocation_api.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await child.communicate()
    lines = err.decode().splitlines()
    assert child.returncode == 2, err.decode()
    assert len(lines) == 1, err.decode()
    (line,) = lines
    assert line.startswith("allocation-api serve: ")
    assert "refused signing key" in line
    assert "production must not trust the sandbox key" in line
    assert sandbox.urls["hmpps-auth"] in line
    assert "Traceback" not in line
    assert out == b""


@pytest.mark.parametrize(
    "extra",
    [
        sandbox_public_jwk(),
        {**sandbox_public_jwk(), "kid": "rotated-2027"},
        {k: v for k, v in sandbox_public_jwk().items() if k not in ("kid", "use", "alg")},
        {**zero_padded(sandbox_public_jwk()), "kid": "padded-2027"},
    ],
    ids=["as published", "under another kid", "without kid, use, alg", "zero-padded n and e"],
)
async def test_serve_refuses_a_sign_in_that_also_publishes_the_sandbox_key(
    sandbox: Sandbox, database_url: str, extra: dict[str, str]
) -> None:
    signin = OwnSignIn(sandbox.urls["hmpps-auth"])
    signin.published.append(extra)
    await signin.start()
    try:
        settings = settings_for(sandbox, database_url, mode="serve", hmpps_auth_url=signin.url)
        app = create_app(settings)
        with pytest.raises(ConfigurationError, match="refused signing key"):
            async with app.router.lifespan_context(app):
                pytest.fail("started although the JWKS publishes the sandbox key")
    finally:
        await signin.close()


async def test_serve_refuses_any_sandbox_key_not_only_this_machines(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> None:
    """Production holds no sandbox key: another machine's (here: another directory's) is
    refused as well, by its exponent, under a name of the real service's style."""
    elsewhere = load_sandbox_key(tmp_path)
    assert elsewhere.fingerprint != sandbox.key.fingerprint
    signin = OwnSignIn(sandbox.urls["hmpps-auth"])
    signin.published.append({**elsewhere.public_jwk(), "kid": "hmpps-auth-2027"})
    await signin.start()
    try:
        settings = settings_for(sandbox, database_url, mode="serve", hmpps_auth_url=signin.url)
        app = create_app(settings)
        with pytest.raises(ConfigurationError, match="refused signing key"):
            async with app.router.lifespan_context(app):
                pytest.fail("started although the JWKS publishes a sandbox key")
    finally:
        await signin.close()


async def test_serve_started_while_sign_in_was_down_never_trusts_the_sandbox_key(
    sandbox: Sandbox, database_url: str
) -> None:
    """The start-up check is skipped when the JWKS cannot be fetched; tokens still are not."""
    signin = OwnSignIn(sandbox.urls["hmpps-auth"])
    signin.jwks_status = 503
    await signin.start()
    try:
        settings = settings_for(sandbox, database_url, mode="serve", hmpps_auth_url=signin.url)
        async with running_api(settings, sandbox) as running:
            assert signin.jwks_requests == 1  # tried at start, and started anyway
            # The sign-in service comes back, now (misconfigured) publishing the sandbox key.
            signin.jwks_status = 200
            signin.published = [sandbox_public_jwk()]
            forged = sandbox.mint_token(
                username=PROD_SPO, roles=["ROLE_ALLOC_MGR"], extra_claims={"iss": signin.issuer}
            )
            status, body = await _post(running, forged, {"query": "{ __typename }"})
            assert status in (401, 503), body
            assert "data" not in body
    finally:
        await signin.close()


async def test_sandbox_signed_token_is_refused_in_production(
    prod: RunningApi, sandbox: Sandbox, own_signin: OwnSignIn, spo_token: str
) -> None:
    """Even with the production issuer and a published kid, the sandbox key signs nothing."""
    for kid in (SANDBOX_KID, OWN_KID):
        forged = sandbox.mint_token(
            username=PROD_SPO,
            roles=["ROLE_ALLOC_MGR"],
            extra_claims={"iss": own_signin.issuer},
            headers={"kid": kid},
        )
        status, body = await _post(prod, forged, {"query": "{ __typename }"})
        assert status == 401, body
        assert "data" not in body
    status, body = await _post(prod, spo_token, {"query": "{ __typename }"})
    assert status == 200, body


# --- hardening of a running serve instance ---------------------------------------------


async def test_serve_instance_answers_without_debug_extensions(
    prod: RunningApi, spo_token: str
) -> None:
    status, body = await _post(prod, spo_token, {"query": '{ prison(code: "LEI") { name } }'})
    assert status == 200, body
    assert body["data"]["prison"]["name"]
    assert "extensions" not in body
    status, body = await _post(prod, spo_token, {"query": "{ nope }"})
    assert status == 400, body
    assert "extensions" not in body


@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { queryType { name } } }",
        '{ __type(name: "Prisoner") { fields { name } } }',
        '{ prison(code: "LEI") { name } __schema { types { name } } }',
        "query { ...F } fragment F on Query { __schema { mutationType { name } } }",
    ],
    ids=["__schema", "__type", "beside a real field", "in a fragment"],
)
async def test_introspection_is_refused(
    prod: RunningApi, api: RunningApi, spo_token: str, query: str
) -> None:
    status, body = await _post(prod, spo_token, {"query": query})
    assert status == 400, body
    assert "data" not in body
    assert "introspection has been disabled" in body["errors"][0]["message"]
    # Control: the same document is answered in dev.
    status, body = await api.post({"query": query}, token=await api.token())
    assert status == 200, body


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('{ prisonr(code: "LEI") { name } }', None),
        ('{ prison(cod: "LEI") { name } }', None),
        ('{ prison(code: "LEI") { nam } }', None),
        (
            'mutation { updateCaseInformation(input: {offenderNo: "A1234BC", tier: BB}) '
            "{ __typename } }",
            None,
        ),
        (
            'mutation { updateCaseInformation(input: {offenderNo: "A1234BC", tierr: B}) '
            "{ __typename } }",
            None,
        ),
        (
            "mutation($input: CaseInformationInputt!) { updateCaseInformation(input: $input) "
            "{ __typename } }",
            {"input": {"offenderNo": "A1234BC"}},
        ),
        (
            "mutation($input: CaseInformationInput!) { updateCaseInformation(input: $input) "
            "{ __typename } }",
            {"input": {"offenderNo": "A1234BC", "tier": "BB"}},
        ),
    ],
    ids=[
        "field",
        "argument",
        "sub-field",
        "enum literal",
        "input field",
        "type name",
        "enum value in a variable",
    ],
)
async def test_no_did_you_mean(
    prod: RunningApi,
    api: RunningApi,
    spo_token: str,
    query: str,
    variables: dict[str, Any] | None,
) -> None:
    request = {"query": query, "variables": variables}
    status, body = await _post(prod, spo_token, request)
    assert status == 400, body
    messages = " ".join(e["message"] for e in body["errors"])
    assert "Did you mean" not in messages, body
    assert "'" in messages  # still says what is wrong
    # Control: dev does suggest, so the absence above is the production hardening.
    status, dev = await api.post(request, token=await api.token())
    assert status == 400, dev
    assert "Did you mean" in " ".join(e["message"] for e in dev["errors"]), dev


async def test_no_graphiql(prod: RunningApi) -> None:
    async with prod.http.get(
        f"{prod.url}/graphql", headers={"Accept": "text/html,application/xhtml+xml"}
    ) as response:
        # The spec's answer to a GET without a token (GraphQL over GET is served).
        assert response.status == 401
        assert response.content_type == "application/json"
        page = await response.text()
    assert "<html" not in page.lower()
    assert "graphiql" not in page.lower()
    async with prod.http.get(f"{prod.url}/graphql/static/graphiql.min.js") as response:
        assert response.status == 404


async def test_unexpected_error_is_masked_and_logged(
    prod: RunningApi, spo_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    request_id = "access-mask-probe-1"
    with caplog.at_level(logging.ERROR, logger="allocation_api.errors"):
        status, body = await prod.post(
            {"query": f'{{ pom(staffId: {POM_AT_LEI}, prisonCode: "LEI") {{ staffId status }} }}'},
            token=spo_token,
            headers={"x-request-id": request_id},
        )
    assert status == 200, body
    assert body["data"] == {"pom": None}
    (error,) = body["errors"]
    assert error["message"] == f"Internal error (request id {request_id})"
    assert error["extensions"] == {"code": "INTERNAL", "requestId": request_id}
    assert error["path"] == ["pom"]
    text = str(body).lower()
    for leak in (
        DROPPED_TABLE,
        "relation",
        "undefined",
        "programmingerror",
        "sqlalchemy",
        "asyncpg",
        "traceback",
        "select",
    ):
        assert leak not in text, f"the masked error shows {leak!r}: {body}"
    # ... while the log keeps the whole story, under the same request id.
    assert request_id in caplog.text
    assert DROPPED_TABLE in caplog.text


async def test_info_in_serve_mode_reveals_no_secrets(prod: RunningApi) -> None:
    async with prod.http.get(f"{prod.url}/info") as response:
        assert response.status == 200
        info = await response.json()
        text = (await response.text()).lower()
    assert info["mode"] == "serve"
    assert prod.settings.client_secret is not None
    assert prod.settings.database_url is not None
    for secret in (
        prod.settings.client_secret.get_secret_value(),
        prod.settings.database_url,
        "postgresql",
        "eyj",
    ):
        assert secret.lower() not in text


async def test_own_key_is_the_only_key(own_signin: OwnSignIn) -> None:
    """The premise of the instance above: its sign-in publishes our key and nothing else."""
    assert own_signin.published == [public_jwk(own_key(), OWN_KID)]
