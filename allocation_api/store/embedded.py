"""An embedded PostgreSQL 16 (pgserver) for `dev` and tests, when no database URL is set.

The cluster lives in `<data_dir>/pgdata` and survives restarts: starting
again reuses the data, and reuses a server still running from an earlier
process. It listens only on a Unix socket (no TCP port to collide with),
trusts local connections, and is stopped by `stop()` (or at interpreter
exit). As root, pgserver runs PostgreSQL as the system user `pgserver` and
makes the parent directories traversable for it; that is expected.

pgserver is imported lazily: production never starts it, and importing it
emits a platformdirs warning when XDG_RUNTIME_DIR is unset.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

__all__ = ["EmbeddedPostgres", "is_abandoned", "start_embedded", "stop_abandoned"]

_log = logging.getLogger(__name__)

DEFAULT_DATABASE = "allocation"
SUPERUSER = "postgres"
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PSQL_TIMEOUT_S = 30
_PG_CTL_TIMEOUT_S = 15
# pgserver runs PostgreSQL as this system user when started by root.
_ROOT_RUNS_AS = "pgserver"


class EmbeddedPostgres:
    """One embedded cluster under `data_dir`; `start()` and `stop()` block (use threads)."""

    def __init__(self, data_dir: Path, *, database: str = DEFAULT_DATABASE) -> None:
        _check_database_name(database)
        self.data_dir = Path(data_dir).resolve()
        self.database = database
        self._server: PostgresServer | None = None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> str:
        """Start (or attach to) the cluster, create the database if missing, return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(self.pgdata)
        with _quiet_pgserver():
            from pgserver.postgres_server import get_server

            self._server = get_server(self.pgdata, cleanup_mode="stop")
        self.create_database(self.database)
        _log.info("embedded PostgreSQL ready at %s", self._socket_dir())
        return self.url()

    def url(self, database: str | None = None) -> str:
        """asyncpg URL of `database` (default: the one created by `start`) over the socket."""
        name = database or self.database
        _check_database_name(name)
        host = quote(str(self._socket_dir()), safe="/")  # a path may hold spaces or "&"
        return f"postgresql+asyncpg://{SUPERUSER}@/{name}?host={host}"

    def create_database(self, name: str) -> None:
        """CREATE DATABASE `name` unless it exists (idempotent, safe to race)."""
        _check_database_name(name)
        if self._database_exists(name):
            return
        try:
            self._psql(f"CREATE DATABASE {name}")
        except subprocess.CalledProcessError:
            # Another process may have created it between the check and now.
            if not self._database_exists(name):
                raise

    def stop(self) -> None:
        """Stop the server unless another live process still uses it; data stays."""
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()

    def _database_exists(self, name: str) -> bool:
        # name matched _DATABASE_NAME, so it cannot break out of the literal.
        found = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")  # noqa: S608
        return found.strip() == "1"

    def _socket_dir(self) -> Path:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not running; call start() first")
        socket_dir = self._server.get_postmaster_info().socket_dir
        if socket_dir is None:
            raise RuntimeError("embedded PostgreSQL is not listening on a Unix socket")
        return Path(socket_dir)

    def _psql(self, sql: str) -> str:
        command = [
            str(_postgres_bin() / "psql"),
            *("-h", str(self._socket_dir()), "-U", SUPERUSER, "-d", "postgres"),
            *("-v", "ON_ERROR_STOP=1", "-X", "-q", "-t", "-A", "-c", sql),
        ]
        done = subprocess.run(
            command, check=True, capture_output=True, text=True, timeout=_PSQL_TIMEOUT_S
        )
        return done.stdout


async def start_embedded(
    data_dir: Path, *, database: str = DEFAULT_DATABASE
) -> tuple[EmbeddedPostgres, str]:
    """Start the embedded cluster in a worker thread; return it and its database URL."""
    server = EmbeddedPostgres(data_dir, database=database)
    url = await asyncio.to_thread(server.start)
    return server, url


def is_abandoned(pgdata: Path) -> bool:
    """True when every process recorded as using this cluster is gone.

    A process killed outright (SIGKILL, a CI timeout) never stops its
    server; this is how a later process recognises the leftover.
    """
    try:
        pids = json.loads((pgdata / ".handle_pids.json").read_text())
    except (OSError, ValueError):
        return False  # not started yet, or not a pgserver cluster: leave it alone
    return isinstance(pids, list) and not any(
        isinstance(pid, int) and _pid_alive(pid) for pid in pids
    )


def stop_abandoned(pgdata: Path) -> None:
    """Stop an abandoned cluster at once (immediate mode: it is about to be thrown away)."""
    if not (pgdata / "postmaster.pid").exists():
        return
    command = [str(_postgres_bin() / "pg_ctl"), "-D", str(pgdata), "-m", "immediate", "-w"]
    user = _ROOT_RUNS_AS if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
        subprocess.run(
            [*command, "stop"],
            check=True,
            capture_output=True,
            timeout=_PG_CTL_TIMEOUT_S,
            user=user,
        )


@contextlib.contextmanager
def _quiet_pgserver() -> Iterator[None]:
    """Importing pgserver warns (platformdirs) when XDG_RUNTIME_DIR is unset; that is harmless."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _postgres_bin() -> Path:
    """The directory of the PostgreSQL binaries bundled with pgserver."""
    with _quiet_pgserver():
        from pgserver._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _check_database_name(name: str) -> None:
    # Names go into SQL text (CREATE DATABASE cannot take a parameter).
    if not _DATABASE_NAME.fullmatch(name):
        raise ValueError(f"not a safe database name: {name!r}")


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without stopping the server from pgserver's handle list.

    pgserver stops the server only when the last process using it lets go;
    a process that was killed never lets go, which would keep the server
    running after every later `stop()`.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(pids, list):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
