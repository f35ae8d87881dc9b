"""The installed package, not the checkout: build the wheel, install it with its
locked dependencies into a fresh virtual environment, run `allocation-api dev`
from there and fetch GraphiQL with its assets.

The rest of the suite runs against the editable install, which reads every file
straight from the checkout; a file the wheel leaves out (as the Docker image
installs it) only shows up here.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from allocation_api.store.embedded import is_abandoned, stop_abandoned

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "allocation_api"
UV_TIMEOUT_S = 300  # a cold cache downloads every locked wheel
READY_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30
TEMP_PREFIX = "allocation-api-wheel-"
# Present in the checkout, never in a wheel: key material is made at run time.
NEVER_PACKAGED = re.compile(r"\.(pem|key)$")

pytestmark = pytest.mark.slow


def _uv() -> str:
    """The uv that scripts/bootstrap.sh installed (the version lock/tools.txt pins)."""
    for candidate in (os.environ.get("UV"), str(ROOT / ".venv" / "bin" / "uv")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("uv")
    if found is None:
        pytest.fail("uv not found: run `bash scripts/bootstrap.sh` first")
    return found


def _clean_env() -> dict[str, str]:
    """This process's environment without the settings and virtualenv it runs with,
    so the installed command configures itself as on a fresh machine."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ALLOCATION_API_", "PYTHON")) and key != "VIRTUAL_ENV"
    }
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def _run(*args: str | Path, cwd: Path = ROOT) -> None:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=UV_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}"


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    work: Path


def _tracked_files(*paths: str) -> list[str]:
    """Files under `paths` that a commit of this checkout would hold (tracked or
    not ignored by git; without git, all on disk)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode == 0 and listed.stdout:
        names = [name for name in listed.stdout.split("\0") if name]
    else:
        names = [
            path.relative_to(ROOT).as_posix()
            for top in paths
            for path in ([ROOT / top] if (ROOT / top).is_file() else (ROOT / top).rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path)
        ]
    return sorted(name for name in names if (ROOT / name).is_file())  # not deleted meanwhile


def _clean_copy(target: Path) -> Path:
    """The files a build sees in a fresh clone (or the Dockerfile's COPY), and no
    build/, *.egg-info or other leftovers of earlier builds in this checkout."""
    for name in _tracked_files("pyproject.toml", "README.md", PACKAGE):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


def _remove_leftovers() -> None:
    """Directories of earlier runs that were killed before their cleanup."""
    cutoff = time.time() - 3600
    for old in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        pgdata = old / "work" / ".allocation-api" / "pgdata"
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff and (not pgdata.exists() or is_abandoned(pgdata)):
                stop_abandoned(pgdata)
                shutil.rmtree(old, ignore_errors=True)


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    """The wheel built from a clean copy of this checkout (through its sdist, as a
    release is), installed with exactly lock/runtime.txt into a new virtual environment.

    Under the system temporary directory rather than pytest's: as root, the
    embedded PostgreSQL runs as another user, who must be able to reach it.
    """
    _remove_leftovers()
    base = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    try:
        yield _build_and_install(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _build_and_install(base: Path) -> Installed:
    uv, lock = _uv(), ROOT / "lock"
    source, dist, venv, work = base / "source", base / "dist", base / "venv", base / "work"
    work.mkdir()
    _clean_copy(source)
    _run(
        uv,
        "build",
        "--quiet",
        "--build-constraints",
        lock / "build.txt",
        "--out-dir",
        dist,
        cwd=source,
    )
    (wheel,) = dist.glob("*.whl")
    _run(uv, "venv", "--quiet", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    _run(uv, "pip", "sync", "--quiet", "--python", python, "--require-hashes", lock / "runtime.txt")
    _run(uv, "pip", "install", "--quiet", "--python", python, "--no-deps", wheel)
    _run(uv, "pip", "check", "--quiet", "--python", python)
    return Installed(wheel=wheel, venv=venv, work=work)


def test_wheel_carries_every_package_file_and_no_key(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        in_wheel = {name for name in wheel.namelist() if name.startswith(f"{PACKAGE}/")}
    expected = {name for name in _tracked_files(PACKAGE) if not NEVER_PACKAGED.search(name)}
    assert sorted(expected - in_wheel) == []
    assert sorted(name for name in in_wheel if NEVER_PACKAGED.search(name)) == []
    # The run-time assets by name, so that a test of the set above cannot go vacuous.
    for asset in (
        "py.typed",
        "schema/schema.graphql",
        "store/migrations/script.py.mako",
        "static/graphiql/graphiql.min.js",
        "static/graphiql/graphiql.min.css",
        "static/graphiql/react.production.min.js",
        "static/graphiql/react-dom.production.min.js",
    ):
        assert f"{PACKAGE}/{asset}" in in_wheel


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Output:
    """Collects a child's output lines on a thread, so waiting never blocks on a pipe."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._process = process
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.lines.append(line)

    def seen(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def join(self) -> str:
        self._thread.join(timeout=5)
        return "".join(self.lines)


def _get(url: str, accept: str = "*/*") -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers.get("content-type", ""), response.read()


@contextlib.contextmanager
def _dev_stack(installed: Installed, port: int) -> Iterator[tuple[subprocess.Popen[str], _Output]]:
    """`allocation-api dev` from the installed venv, in an empty working directory;
    killed (with everything in its session) if it outlives the test."""
    process = subprocess.Popen(
        [str(installed.venv / "bin" / "allocation-api"), "dev", "--port", str(port)],
        cwd=installed.work,
        env=_clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = _Output(process)
    try:
        yield process, output
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_S)
        output.join()
        assert process.stdout is not None
        process.stdout.close()
        # A dev process that did not stop its embedded PostgreSQL leaves it running.
        pgdata = installed.work / ".allocation-api" / "pgdata"
        if (pgdata / "postmaster.pid").exists():
            stop_abandoned(pgdata)


def test_installed_dev_command_serves_graphiql_and_stops_on_ctrl_c(installed: Installed) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with _dev_stack(installed, port) as (process, output):
        # Up: it printed its GraphiQL URL (after migrating, seeding, serving).
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not output.seen(f"{base}/graphql") and process.poll() is None:
            assert time.monotonic() < deadline, f"dev did not start:\n{output.join()}"
            time.sleep(0.2)
        assert process.poll() is None, f"dev exited {process.returncode}:\n{output.join()}"

        status, _, _ = _get(f"{base}/health/ping")
        assert status == 200

        status, content_type, body = _get(f"{base}/graphql", accept="text/html")
        assert status == 200
        assert content_type.startswith("text/html")
        page = body.decode()
        assets = re.findall(r'(?:href|src)="([^"]+/graphql/static/[^"]+)"', page)
        assert sorted(a.rsplit("/", 1)[1] for a in assets) == [
            "graphiql.min.css",
            "graphiql.min.js",
            "react-dom.production.min.js",
            "react.production.min.js",
        ]
        for asset in assets:
            status, content_type, body = _get(asset)
            assert status == 200, asset
            assert body, asset
            kind = "text/css" if asset.endswith(".css") else "javascript"
            assert kind in content_type, (asset, content_type)

        process.send_signal(signal.SIGINT)
        try:
            returncode = process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"dev did not stop within {STOP_TIMEOUT_S}s of SIGINT:\n{output.join()}")
        assert returncode == 0, output.join()
        pgdata = installed.work / ".allocation-api" / "pgdata"
        assert not (pgdata / "postmaster.pid").exists(), "dev left its PostgreSQL running"
