"""The sandbox stays out of the production path: `serve` never imports it.

Checked in a fresh interpreter, because this test-suite itself has the
sandbox loaded: the child runs `allocation-api serve` through `cli.main` with
production settings pointing at unused loopback ports (uvicorn's
`Server.run` replaced, so nothing starts), then reports which sandbox modules it loaded.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, sys
import uvicorn

served = []


def record(self):
    served.append(self.config.app)
    self.started = True


uvicorn.Server.run = record

import allocation_api.app
import allocation_api.cli

code = allocation_api.cli.main(["serve", "--host", "127.0.0.1", "--port", "1"])
loaded = sorted(m for m in sys.modules if m.split(".")[:2] == ["allocation_api", "sandbox"])
print(json.dumps({
    "code": code,
    "served": [type(app).__name__ for app in served],
    "sandbox_modules": loaded,
    "app_modules": sorted(m for m in sys.modules if m.startswith("allocation_api.")),
}))
"""


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_imports_no_sandbox_module(tmp_path: Path) -> None:
    nothing = f"http://127.0.0.1:{_unused_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOCATION_API_")}
    env.update(
        {
            "ALLOCATION_API_DATABASE_URL": f"postgresql+asyncpg://u:p@127.0.0.1:{_unused_port()}/x",
            "ALLOCATION_API_PRISONER_SEARCH_URL": nothing,
            "ALLOCATION_API_PRISON_API_URL": nothing,
            "ALLOCATION_API_NOMIS_USER_ROLES_URL": nothing,
            "ALLOCATION_API_HMPPS_AUTH_URL": nothing,
            "ALLOCATION_API_CLIENT_ID": "allocation-api",
            "ALLOCATION_API_CLIENT_SECRET": "not-a-secret",
        }
    )
    child = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=tmp_path,  # no .env, no ./.allocation-api
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, child.stderr
    assert report["served"] == ["Starlette"]  # the production app was built
    assert "allocation_api.schema.build" in report["app_modules"]  # ... really built
    assert report["sandbox_modules"] == []
    assert not (tmp_path / ".allocation-api").exists()  # and no sandbox key was made
