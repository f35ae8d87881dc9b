"""`run_sandbox_forever` (behind `allocation-api sandbox`): prints its URLs, stops on a signal."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from allocation_api.sandbox import UPSTREAMS, run_sandbox_forever, start_sandbox

REPO = Path(__file__).resolve().parents[2]
CHILD = (
    "import asyncio\n"
    "from allocation_api.sandbox import run_sandbox_forever\n"
    "asyncio.run(run_sandbox_forever(prisoners_per_prison=10, poms_per_prison=3))\n"
)


async def test_runs_until_stopped_and_prints_the_urls(sandbox_http: aiohttp.ClientSession) -> None:
    out, stop = io.StringIO(), asyncio.Event()
    task = asyncio.create_task(
        run_sandbox_forever(prisoners_per_prison=10, poms_per_prison=3, out=out, stop=stop)
    )
    async with asyncio.timeout(10):
        while not out.getvalue().endswith("\n"):  # noqa: ASYNC110 - StringIO has no event
            await asyncio.sleep(0.01)
    urls = json.loads(out.getvalue())
    assert list(urls) == list(UPSTREAMS)
    async with sandbox_http.get(urls["prisoner-search"] + "/health/ping") as response:
        assert response.status == 200
    stop.set()
    async with asyncio.timeout(10):
        await task
    with pytest.raises(aiohttp.ClientConnectionError):
        await sandbox_http.get(urls["prisoner-search"] + "/health/ping")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_stops_it_cleanly(
    sandbox_http: aiohttp.ClientSession, sig: signal.Signals
) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        async with asyncio.timeout(30):
            urls = json.loads(await child.stdout.readline())
        async with sandbox_http.get(urls["prison-api"] + "/health/ping") as response:
            assert response.status == 200
        child.send_signal(sig)
        async with asyncio.timeout(15):
            _, stderr = await child.communicate()
        assert child.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def test_fixed_ports_and_unknown_upstreams() -> None:
    with pytest.raises(ValueError, match="unknown upstream"):
        await start_sandbox(ports={"prisoner-serch": 0}, prisoners_per_prison=10)
    first = await start_sandbox(prisoners_per_prison=10, poms_per_prison=3)
    port = int(first.urls["prison-api"].rsplit(":", 1)[1])
    await first.close()
    second = await start_sandbox(
        prisoners_per_prison=10, poms_per_prison=3, ports={"prison-api": port}
    )
    try:
        assert second.urls["prison-api"] == f"http://127.0.0.1:{port}"
        assert second.issuer == second.urls["hmpps-auth"] + "/auth/issuer"
    finally:
        await second.close()
