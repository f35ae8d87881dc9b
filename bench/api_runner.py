"""Child process: the Allocation API under uvicorn, `serve`-style but in dev mode.

Dev mode because only then does every response carry `extensions.calls`
(upstream requests and SQL statements per request), which the benchmark
samples. Otherwise it is run as `allocation-api serve` runs it: one uvicorn
worker, `create_serving_app(settings)` (garbage-collector tuning included),
the server of `web/server.py` (uvloop, httptools with the connection limits),
no server header.
The access log (the app's `allocation_api.access` line) is off: it would measure
writing to stderr, not the service.

The configuration arrives as the path of one JSON file (written by
`bench.children`): `{"port": int, "settings": {...}, "profile": bool}`.

With `"profile": true` the app is wrapped in `ProfileControl`, which adds
`POST /__bench/profile/start` and `POST /__bench/profile/stop` so that the
harness can sample, with pyinstrument, exactly the seconds of one load run.
The profiler samples the event loop's thread whatever task runs, which is
what the process's CPU time measures too.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from allocation_api.app import create_serving_app
from allocation_api.settings import Settings
from allocation_api.web.server import server_config

_PROFILE_PREFIX = "/__bench/profile/"

Scope = dict[str, Any]
Message = dict[str, Any]


class ProfileControl:
    """ASGI wrapper: start/stop a pyinstrument profile of the whole event loop thread.

    `stop` answers JSON with the call tree, a flat self-time list and self
    time grouped by package (see `package_summary`).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.profiler: Any = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(_PROFILE_PREFIX):
            await self.app(scope, receive, send)
            return
        action = path.removeprefix(_PROFILE_PREFIX)
        if action == "start":
            from pyinstrument import Profiler

            # "disabled": sample the thread, not one task; the load is many tasks.
            self.profiler = Profiler(interval=0.0005, async_mode="disabled")
            self.profiler.start()
            body: dict[str, Any] = {"started": True}
        elif action == "stop" and self.profiler is not None:
            profiler, self.profiler = self.profiler, None
            profiler.stop()
            session = profiler.last_session
            body = {
                "duration_s": session.duration,
                "cpu_time_s": session.cpu_time,
                "sample_count": session.sample_count,
                "tree": profiler.output_text(unicode=True, color=False, short_mode=False),
                "flat": profiler.output_text(unicode=True, color=False, flat=True),
                "packages": package_summary(session.root_frame()),
            }
        else:
            body = {"error": f"unknown profile action {action!r} (or not started)"}
        raw = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": raw})


def package_summary(root: Any) -> list[tuple[str, float]]:
    """Self time (seconds) grouped by the package that owns the code, largest first.

    The call tree shows *where* time is spent along paths; this answers the
    coarser question "how much CPU goes to strawberry / graphql-core /
    SQLAlchemy / aiohttp / our own code", which is what a closing note needs.
    """
    totals: dict[str, float] = {}
    stack: list[tuple[Any, str]] = [(root, "[root]")] if root is not None else []
    while stack:
        frame, parent_owner = stack.pop()
        children = list(frame.children)
        # Synthetic frames ("[self]", "[await]") carry no file: their time is the parent's.
        owner = _owner(frame) if frame.file_path else parent_owner
        self_time = frame.time - sum(child.time for child in children)
        if self_time > 0:
            totals[owner] = totals.get(owner, 0.0) + self_time
        stack.extend((child, owner) for child in children)
    return sorted(totals.items(), key=lambda item: item[1], reverse=True)


def _owner(frame: Any) -> str:
    path = str(frame.file_path or "")
    function = str(frame.function or "")
    if not path or path.startswith("<"):
        return f"[{function or path}]"
    if "/site-packages/" in path:
        package = path.split("/site-packages/", 1)[1].split("/", 1)[0]
        return package.removesuffix(".py")
    if "/allocation_api/" in path:
        parts = path.split("/allocation_api/", 1)[1].split("/")
        return "allocation_api." + (parts[0].removesuffix(".py") if parts else "?")
    if "/bench/" in path:
        return "bench"
    if "/lib/python" in path:
        module = path.split("/lib/python", 1)[1].split("/", 2)
        return "stdlib." + (module[1].removesuffix(".py") if len(module) > 1 else "?")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Read the JSON config and serve until SIGTERM/SIGINT (uvicorn handles both)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m bench.api_runner CONFIG.json", file=sys.stderr)
        return 2
    config = json.loads(Path(args[0]).read_text())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The app's access line (web/observe.py) is the access log: off, as uvicorn's was.
    logging.getLogger("allocation_api.access").setLevel(logging.WARNING)
    settings = Settings(_env_file=None, **config["settings"])
    app: Any = create_serving_app(settings)  # as `serve` does
    if config.get("profile"):
        app = ProfileControl(app)
    # The server `serve` runs, with its limits (allocation_api/web/server.py).
    uvicorn.Server(
        server_config(app, settings, host="127.0.0.1", port=int(config["port"]), access_log=False)
    ).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
