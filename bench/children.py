"""The processes of a benchmark run: embedded Postgres, the sandbox, the API.

Each runs in its own process so that CPU time read from a pid belongs to one
component: the API's number is the service's alone, and Postgres and the
fakes are measured beside it. Children get PR_SET_PDEATHSIG (Linux) so they
die with the harness even when it is killed outright; `Child.stop` sends
SIGTERM, waits, then SIGKILLs. Everything here is synchronous and called
from the main thread (PDEATHSIG fires when the *thread* that forked exits).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: ask the kernel for SIGTERM when we die."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One child process running `python -m <module>`, its stderr kept in a log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """The end of the child's log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def read_line(self, timeout_s: float) -> str:
        """One line from the child's stdout (the sandbox prints its URLs so), bounded in time."""
        stdout = self.proc.stdout
        if stdout is None:
            raise RuntimeError(f"{self.name}: stdout is not captured")
        deadline = time.monotonic() + timeout_s
        buffer = b""
        while not buffer.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (not self.alive() and not buffer):
                raise RuntimeError(
                    f"{self.name} printed no line within {timeout_s:.0f} s "
                    f"(exit code {self.proc.poll()}):\n{self.log_tail()}"
                )
            ready, _, _ = select.select([stdout], [], [], min(remaining, 0.5))
            if ready:
                chunk = os.read(stdout.fileno(), 4096)
                if not chunk:
                    raise RuntimeError(f"{self.name} closed stdout:\n{self.log_tail()}")
                buffer += chunk
        return buffer.decode().splitlines()[0]

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM, wait up to `grace_s`, then SIGKILL; idempotent."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


def spawn(name: str, module: str, args: list[str], log_path: Path, *, capture: bool) -> Child:
    """Start `python -m module args...` from the project root (so `bench` imports)."""
    log = log_path.open("wb")
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else log,
        stderr=log,
        env=env,
        preexec_fn=_die_with_parent,  # only prctl: safe between fork and exec
    )
    return Child(name=name, proc=proc, log_path=log_path, _log=log)


def start_sandbox(
    workdir: Path, *, prisons: str, prisoners: int, poms: int, seed: int
) -> tuple[Child, dict[str, str]]:
    """The sandbox runner; returns it and its URLs (the one JSON line it prints).

    It starts with no latency: seeding goes at full speed and the
    measurement's latency is injected afterwards through `/__sandbox/faults`.
    """
    child = spawn(
        "sandbox",
        "bench.sandbox_runner",
        [
            *("--prisons", prisons),
            *("--prisoners", str(prisoners)),
            *("--poms", str(poms)),
            *("--seed", str(seed)),
            *("--latency-ms", "0"),
        ],
        workdir / "sandbox.log",
        capture=True,
    )
    try:
        urls = json.loads(child.read_line(timeout_s=120))
    except BaseException:
        child.stop()
        raise
    return child, {str(k): str(v) for k, v in urls.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_api(
    workdir: Path, settings: dict[str, Any], *, profile: bool, timeout_s: float = 90
) -> tuple[Child, str]:
    """The API runner on a free loopback port; returns it and its base URL once it answers."""
    port = free_port()
    config_path = workdir / "api-config.json"
    config_path.write_text(json.dumps({"port": port, "settings": settings, "profile": profile}))
    child = spawn("api", "bench.api_runner", [str(config_path)], workdir / "api.log", capture=False)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if not child.alive():
                raise RuntimeError(f"the API exited at start:\n{child.log_tail()}")
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(f"{url}/health/ping", timeout=2) as response,
            ):
                if response.status == 200:
                    return child, url
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API did not answer within {timeout_s:.0f} s")
            time.sleep(0.1)
    except BaseException:
        child.stop()
        raise


def api_settings(database_url: str, urls: dict[str, str], **extra: Any) -> dict[str, Any]:
    """The API child's settings against the sandbox and a migrated database.

    Dev mode for `extensions.calls` only: the answer-size walk behind
    `extensions.cost.actual` is a dev diagnostic that serve never runs.
    """
    return {
        "mode": "dev",
        "database_url": database_url,
        "prisoner_search_url": urls["prisoner-search"],
        "prison_api_url": urls["prison-api"],
        "nomis_user_roles_url": urls["nomis-user-roles"],
        "hmpps_auth_url": urls["hmpps-auth"],
        "client_id": "allocation-api",
        "client_secret": "sandbox-secret",
        "migrate_on_start": False,
        "debug_cost_actual": False,
        **extra,
    }


class EmbeddedDatabase:
    """The embedded Postgres of one run, in the run's temp dir (deleted afterwards)."""

    def __init__(self, data_dir: Path) -> None:
        from allocation_api.store.embedded import EmbeddedPostgres

        self.server = EmbeddedPostgres(data_dir)
        self.url = ""

    def start(self) -> str:
        self.url = self.server.start()
        return self.url

    def start_migrated(self) -> str:
        """Start and apply the real migrations; returns the URL."""
        import asyncio

        from allocation_api.store.migrate import run_migrations

        url = self.start()
        asyncio.run(run_migrations(url))
        return url

    def postmaster_pid(self) -> int | None:
        """From `postmaster.pid` (first line): the root of Postgres's process tree."""
        try:
            return int((self.server.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        self.server.stop()


class CpuMeter:
    """User+system CPU seconds of one process, optionally with all its descendants.

    Postgres is a tree (postmaster plus one backend per connection), so its
    meter sums the live tree plus the root's `children_user/system`: the CPU
    of backends that already exited (the pool's overflow connections come
    and go), which would otherwise vanish from the sum and make deltas
    negative.
    """

    def __init__(self, pid: int | None, *, tree: bool = False) -> None:
        self.tree = tree
        self.process: psutil.Process | None = None
        if pid is not None:
            with contextlib.suppress(psutil.Error):
                self.process = psutil.Process(pid)

    def seconds(self) -> float | None:
        if self.process is None:
            return None
        processes = [self.process]
        if self.tree:
            with contextlib.suppress(psutil.Error):
                processes += self.process.children(recursive=True)
        total = 0.0
        if self.tree:
            with contextlib.suppress(psutil.Error):
                reaped = self.process.cpu_times()
                total += reaped.children_user + reaped.children_system
        for process in processes:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def rss_bytes(self) -> int | None:
        if self.process is None:
            return None
        try:
            return int(self.process.memory_info().rss)
        except psutil.Error:
            return None
