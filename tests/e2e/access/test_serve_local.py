"""`serve` on one machine, and `serve`'s one-line refusals at start-up.

`allocation-api sandbox --production-like` runs the real `serve` command
against the fake upstreams, a database of its own and a sign-in stand-in
whose key is made on the spot (not a sandbox key): started, queried and
stopped here as a user would. Every way `serve` can refuse to start says so
in one line on stderr with exit status 2, and no traceback.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from allocation_api.auth.jwks import SANDBOX_PUBLIC_EXPONENT
from allocation_api.sandbox import Sandbox
from allocation_api.store.testing import database_for_tests, drop_database_for_tests
from allocation_api.store.urls import asyncpg_url

ALLOCATION_API = str(Path(sys.executable).parent / "allocation-api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOCATION_API_")}
    env.update({f"ALLOCATION_API_{k.upper()}": v for k, v in settings.items()})
    return env


def _entries(directory: Path) -> list[Path]:
    return list(directory.iterdir())


def _mode(path: Path) -> int:
    return path.stat().st_mode


def _exponent(jwk: dict[str, str]) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(jwk["e"] + "=" * (-len(jwk["e"]) % 4)), "big")


@pytest.fixture
async def production_like(tmp_path: Path) -> AsyncIterator[tuple[dict[str, Any], str]]:
    """The command running; its JSON line and banner. Stopped with SIGINT afterwards,
    which must end it cleanly within a minute."""
    child = await asyncio.create_subprocess_exec(
        ALLOCATION_API,
        "sandbox",
        "--production-like",
        "--api-port",
        str(_free_port()),
        "--prisoners",
        "40",
        cwd=tmp_path,
        env=_clean_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert child.stdout is not None
    try:
        async with asyncio.timeout(180):
            first = await child.stdout.readline()
            assert first, "the command ended before it was up"
            summary = json.loads(first)
            banner = ""
            while "Ctrl-C stops everything." not in banner:
                line = await child.stdout.readline()
                assert line, banner
                banner += line.decode()
        yield summary, banner
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGINT)
        async with asyncio.timeout(60):
            await child.wait()
    assert child.returncode == 0
    assert _entries(tmp_path) == []  # nothing left in the working directory


async def test_serve_runs_locally_with_its_own_sign_in_key(
    production_like: tuple[dict[str, Any], str], sandbox: Sandbox
) -> None:
    summary, banner = production_like
    api, token = summary["api"], summary["token"]
    assert f"export TOKEN={token}" in banner
    (key_path,) = re.findall(r"its own key, (\S+), deleted at exit", banner)
    assert _mode(Path(key_path)) & 0o077 == 0  # the owner's only
    async with aiohttp.ClientSession() as http:
        # The stand-in publishes one key, an ordinary one.
        async with http.get(f"{summary['signIn']}/auth/.well-known/jwks.json") as answer:
            (jwk,) = (await answer.json())["keys"]
        assert _exponent(jwk) == 65537 != SANDBOX_PUBLIC_EXPONENT
        assert not jwk["kid"].startswith("sandbox-")

        query = {"query": '{ prison(code: "LEI") { name summary { total } } }'}
        headers = {"Authorization": f"Bearer {token}"}
        async with http.post(f"{api}/graphql", json=query, headers=headers) as answer:
            assert answer.status == 200
            body = await answer.json()
        assert "errors" not in body, body
        assert body["data"]["prison"]["name"]
        assert "extensions" not in body  # serve: no debug extensions

        # More tokens from the stand-in, as the banner says.
        async with http.post(
            f"{summary['signIn']}/auth/local/token",
            json={"username": "spo_lei", "roles": ["ROLE_ALLOC_MGR"], "caseloads": ["LEI"]},
        ) as answer:
            assert answer.status == 200
            other = (await answer.json())["access_token"]
        headers = {"Authorization": f"Bearer {other}"}
        async with http.post(f"{api}/graphql", json=query, headers=headers) as answer:
            assert answer.status == 200
            assert "errors" not in await answer.json()

        # A sandbox-signed token, even for this issuer, is refused: this is production mode.
        forged = sandbox.mint_token(
            username="LOCAL_SPO",
            roles=["ROLE_ALLOC_MGR"],
            extra_claims={"iss": f"{summary['signIn']}/auth/issuer"},
        )
        headers = {"Authorization": f"Bearer {forged}"}
        async with http.post(f"{api}/graphql", json=query, headers=headers) as answer:
            assert answer.status == 401


# --- serve's refusals: one line, exit status 2, no traceback --------------------------------


async def _serve(env: dict[str, str], cwd: Path) -> tuple[int, list[str], bytes]:
    child = await asyncio.create_subprocess_exec(
        ALLOCATION_API,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(_free_port()),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await child.communicate()
    assert b"Traceback" not in err, err.decode()
    return child.returncode or 0, err.decode().splitlines(), out


def _upstreams(sandbox: Sandbox) -> dict[str, str]:
    return {
        "prisoner_search_url": sandbox.urls["prisoner-search"],
        "prison_api_url": sandbox.urls["prison-api"],
        "nomis_user_roles_url": sandbox.urls["nomis-user-roles"],
        "hmpps_auth_url": sandbox.urls["hmpps-auth"],
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
    }


async def test_serve_names_missing_settings_in_one_line(tmp_path: Path) -> None:
    status, lines, out = await _serve(_clean_env(), tmp_path)
    assert status == 2
    (line,) = lines
    assert line.startswith(
        "allocation-api serve: missing required setting(s): ALLOCATION_API_DATABASE_URL"
    )
    assert out == b""


async def test_serve_names_an_invalid_setting_in_one_line(tmp_path: Path) -> None:
    status, lines, _ = await _serve(_clean_env(db_pool_size="many"), tmp_path)
    assert status == 1
    (line,) = lines
    assert line.startswith("allocation-api: invalid settings: ALLOCATION_API_DB_POOL_SIZE: ")


@pytest.mark.parametrize("migrate_on_start", [False, True])
async def test_serve_says_in_one_line_that_the_database_is_unreachable(
    sandbox: Sandbox, tmp_path: Path, migrate_on_start: bool
) -> None:
    """Unreachable now: a one-line warning, and serve goes on (readiness says DOWN until it
    answers; here the sandbox's sign-in stops it next), unless it must migrate at start."""
    url = f"postgresql://allocation:hunter2secret@127.0.0.1:{_free_port()}/allocation"
    settings = {"database_url": url, "migrate_on_start": str(migrate_on_start).lower()}
    status, lines, out = await _serve(_clean_env(**settings, **_upstreams(sandbox)), tmp_path)
    assert status == 2
    assert out == b""
    assert "hunter2secret" not in "".join(lines)
    if migrate_on_start:
        (line,) = lines
        assert line.startswith("allocation-api serve: cannot connect to the database ")
        assert "to migrate it (ALLOCATION_API_MIGRATE_ON_START): ConnectionRefusedError" in line
    else:
        warning, refusal = lines
        assert warning.startswith("allocation-api serve: warning: cannot connect to the database ")
        assert warning.endswith("starting anyway, /health/readiness answers DOWN until it does")
        assert "127.0.0.1" in warning
        assert refusal.startswith("allocation-api serve: the sign-in service at ")
        assert "publishes a refused signing key" in refusal


async def test_serve_refuses_a_database_without_migrations_in_one_line(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    url = await database_for_tests()
    try:
        engine = create_async_engine(asyncpg_url(url), poolclass=pool.NullPool)
        try:
            async with engine.begin() as connection:
                await connection.exec_driver_sql("DROP TABLE alembic_version")
        finally:
            await engine.dispose()
        status, lines, _ = await _serve(
            _clean_env(database_url=url, **_upstreams(sandbox)), tmp_path
        )
    finally:
        await drop_database_for_tests(url)
    assert status == 2
    (line,) = lines
    assert line.endswith("has no tables: run `allocation-api migrate` first")
