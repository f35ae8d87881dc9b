"""The `allocation-api` command.

    allocation-api dev [--host 127.0.0.1] [--port 8000] [--trace-console]
                                                          the whole stack, sandbox data
    allocation-api serve [--host 0.0.0.0] [--port 8080]   production mode
    allocation-api migrate                                apply database migrations
    allocation-api sandbox [--seed N] [--prisoners N]     only the fake upstreams
    allocation-api sandbox --production-like [--api-port N]  `serve` on one machine
    allocation-api reconcile                              automatic deallocations (cron)
    allocation-api purge-idempotency-keys                 delete expired idempotency keys
    allocation-api publish-events                         drain the outbox to SNS once
    allocation-api events tail                            print events from the dev queue
    allocation-api export-schema                          print the GraphQL SDL
    allocation-api schema-check [--release]               breaking SDL changes vs the release
    allocation-api token [--user U] [--role R ...] [--caseload C ...]

Settings come from the environment (`ALLOCATION_API_*`, see .env.example),
read once here and handed down.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import orjson
from pydantic import ValidationError

from allocation_api.settings import Settings


def _settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        # One line, naming each setting as it is set; never the value (it may be a secret).
        problems = "; ".join(
            f"ALLOCATION_API_{'_'.join(str(part) for part in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        raise SystemExit(f"allocation-api: invalid settings: {problems}") from None


def _run(coro: object) -> None:
    try:
        import uvloop

        uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - uvloop is a dependency via uvicorn[standard]
        asyncio.run(coro)  # type: ignore[arg-type]


def _observability(settings: Settings, *, dev: bool, trace_console: bool = False) -> None:
    """Logging (JSON or text) and tracing (exporters by setting or flag) for a server."""
    from allocation_api import __version__, logging_setup, tracing

    logging_setup.configure(log_format=settings.log_format, dev=dev)
    on = tracing.configure(
        service_name="allocation-api",
        service_version=__version__,
        otlp_endpoint=settings.otlp_endpoint,
        console=trace_console or settings.trace_console,
    )
    if on:
        logging.getLogger("allocation_api").info(
            "tracing on: otlp=%s console=%s",
            settings.otlp_endpoint or "off",
            trace_console or settings.trace_console,
        )


def cmd_dev(args: argparse.Namespace) -> int:
    from allocation_api.devstack import run_dev

    settings = _settings(mode="dev")
    _observability(settings, dev=True, trace_console=args.trace_console)
    _run(run_dev(settings, host=args.host, port=args.port))
    return 0


async def database_problem(
    url: str, timeout_s: float, *, migrates: bool
) -> tuple[str, bool] | None:
    """What is wrong with the database at `url` for `serve`, in one sentence, and whether
    it must stop `serve` from starting; None when nothing is.

    A database that cannot be reached now does not stop `serve` (it starts and
    `/health/readiness` says DOWN until the database answers, as when it goes
    away later), unless `serve` is to migrate it at start-up; one without
    migrations does, since every query would fail. Checked before the server
    starts: a failed start-up would reach the operator as a traceback.
    """
    from sqlalchemy import pool, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    from sqlalchemy.ext.asyncio import create_async_engine

    from allocation_api.store.urls import asyncpg_url

    try:
        shown = make_url(url).render_as_string(hide_password=True)
        engine = create_async_engine(asyncpg_url(url), poolclass=pool.NullPool)
    except (ArgumentError, ValueError) as error:
        return f"ALLOCATION_API_DATABASE_URL is not a database URL ({error})", True
    wait_s = max(timeout_s, 1.0)
    try:
        async with asyncio.timeout(wait_s), engine.connect() as connection:
            migrated = await connection.scalar(text("SELECT to_regclass('alembic_version')"))
    except Exception as error:  # every driver and network failure, said in one line
        cause = error.__cause__ or error
        if isinstance(error, TimeoutError):
            reason = f"no answer within {wait_s:g} s"
        else:
            reason = f"{type(cause).__name__}: {(str(cause).strip().splitlines() or [''])[0]}"
        if migrates:
            return (
                f"cannot connect to the database {shown} to migrate it "
                f"(ALLOCATION_API_MIGRATE_ON_START): {reason}",
                True,
            )
        return (
            f"warning: cannot connect to the database {shown} now ({reason}); starting "
            "anyway, /health/readiness answers DOWN until it does",
            False,
        )
    finally:
        await engine.dispose()
    if migrated is None and not migrates:
        return f"the database {shown} has no tables: run `allocation-api migrate` first", True
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from allocation_api.app import create_serving_app, refuse_sandbox_sign_in
    from allocation_api.errors import ConfigurationError
    from allocation_api.web.server import server_config

    settings = _settings(mode="serve")
    _observability(settings, dev=False)
    missing = settings.missing_for_serve()
    if missing:
        print(
            f"allocation-api serve: missing required setting(s): {', '.join(missing)} "
            "(see .env.example)",
            file=sys.stderr,
        )
        return 2
    assert settings.database_url is not None  # missing_for_serve names it otherwise
    problem = asyncio.run(
        database_problem(
            settings.database_url,
            settings.db_pool_timeout_s,
            migrates=settings.migrate_on_start_on,
        )
    )
    if problem is not None:
        message, refused = problem
        print(f"allocation-api serve: {message}", file=sys.stderr, flush=True)
        if refused:
            return 2
    try:
        asyncio.run(refuse_sandbox_sign_in(settings))
    except ConfigurationError as error:
        print(f"allocation-api serve: {error.message}", file=sys.stderr)
        return 2
    config = server_config(
        create_serving_app(settings),
        settings,
        host=args.host,
        port=args.port,
        log_level="info",
        proxy_headers=True,
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 3  # uvicorn logs why start-up failed


def cmd_migrate(args: argparse.Namespace) -> int:
    from allocation_api.store.embedded import start_embedded
    from allocation_api.store.migrate import run_migrations

    settings = _settings()

    async def migrate() -> None:
        url = settings.database_url
        if url is None:
            server, url = await start_embedded(settings.data_dir)
            try:
                await run_migrations(url)
            finally:
                server.stop()
        else:
            await run_migrations(url)

    asyncio.run(migrate())
    print("migrations applied")
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from allocation_api.sandbox import run_sandbox_forever

    if args.production_like:
        from allocation_api.production_like import run_production_like

        async def production_like() -> int:
            return await run_production_like(
                host=args.host,
                port=args.api_port,
                seed=args.seed,
                prisoners_per_prison=args.prisoners,
                poms_per_prison=args.poms,
            )

        return asyncio.run(production_like())

    _run(
        run_sandbox_forever(
            seed=args.seed,
            prisoners_per_prison=args.prisoners,
            poms_per_prison=args.poms,
            host=args.host,
            latency_ms=args.latency_ms,
            key_dir=_settings().data_dir,
        )
    )
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Apply release / transfer / legal-status deallocations (idempotent; run on a schedule)."""
    from allocation_api.commands.reconcile import reconcile
    from allocation_api.commands.unit_of_work import UnitOfWork
    from allocation_api.store.engine import create_engine, session_factory
    from allocation_api.upstream import Upstreams

    settings = _settings()
    missing = settings.missing_for_serve()
    if missing:
        print(
            f"allocation-api reconcile: missing setting(s): {', '.join(missing)}", file=sys.stderr
        )
        return 2
    assert settings.database_url is not None

    async def run() -> dict[str, object]:
        engine = create_engine(settings.database_url or "")
        try:
            async with await Upstreams.open(settings) as upstreams:
                report = await reconcile(UnitOfWork(session_factory(engine)), upstreams)
        finally:
            await engine.dispose()
        return report.as_dict()

    print(orjson.dumps(asyncio.run(run())).decode())
    return 0


def cmd_recalculate_handovers(args: argparse.Namespace) -> int:
    """Recalculate stored handovers of one or more prisons (`--prison`, repeatable) or all
    (`--all`); progress on stderr when it is a terminal, counts as JSON on stdout.

    With no upstream settings and a dev stack running (`dev.json`), it runs
    against that stack: its sandbox upstreams and its embedded database."""
    from allocation_api.commands.recalculate_handovers import (
        recalculate_handovers,
        terminal_progress,
    )
    from allocation_api.commands.unit_of_work import UnitOfWork
    from allocation_api.devstack import dev_json_path, settings_for_sandbox_urls
    from allocation_api.store.embedded import start_embedded
    from allocation_api.store.engine import create_engine, session_factory
    from allocation_api.upstream import Upstreams

    if not args.prison and not args.all:
        print("allocation-api recalculate-handovers: give --prison X or --all", file=sys.stderr)
        return 2
    settings = _settings()
    dev_stack = settings.missing_for_serve() and dev_json_path(settings).exists()
    if dev_stack:
        urls = orjson.loads(dev_json_path(settings).read_bytes())["sandbox"]
        settings = settings_for_sandbox_urls(settings, urls, settings.database_url or "")
    else:
        missing = settings.missing_for_serve()
        if missing:
            print(
                f"allocation-api recalculate-handovers: missing setting(s): {', '.join(missing)}",
                file=sys.stderr,
            )
            return 2

    async def run() -> dict[str, object]:
        server = None
        url = settings.database_url
        if not url:
            server, url = await start_embedded(settings.data_dir)
        engine = create_engine(url)
        try:
            async with await Upstreams.open(settings) as upstreams:
                report = await recalculate_handovers(
                    UnitOfWork(session_factory(engine)),
                    upstreams,
                    prisons=args.prison or (),
                    everything=args.all,
                    progress=terminal_progress(),
                )
        finally:
            await engine.dispose()
            if server is not None:
                server.stop()
        return report.as_dict()

    result = asyncio.run(run())
    print(orjson.dumps(result).decode())
    return 1 if result["failed"] else 0


def cmd_purge_idempotency_keys(args: argparse.Namespace) -> int:
    """Delete idempotency keys older than the retention now (what `serve` does hourly);
    safe beside running replicas. Prints {"deleted": n, "batches": n, "retentionDays": d}."""
    from allocation_api.store.embedded import start_embedded
    from allocation_api.store.engine import create_engine
    from allocation_api.store.idempotency import purge_expired_idempotency_keys

    settings = _settings()

    async def run() -> dict[str, object]:
        url = settings.database_url
        server = None
        if url is None:
            server, url = await start_embedded(settings.data_dir)
        engine = create_engine(url)
        try:
            report = await purge_expired_idempotency_keys(
                engine,
                retention=settings.idempotency_retention,
                batch_size=settings.idempotency_purge_batch,
            )
        finally:
            await engine.dispose()
            if server is not None:
                server.stop()
        return {**report.as_dict(), "retentionDays": settings.idempotency_retention_days}

    print(orjson.dumps(asyncio.run(run())).decode())
    return 0


def cmd_publish_events(args: argparse.Namespace) -> int:
    """Publish every due outbox event once (what `serve` does continuously), then prune
    published ones past their retention; safe beside running replicas. Prints
    {"published", "failed", "parked", "batches", "pruned", "backlog", "parkedTotal"}."""
    from allocation_api.events.publisher import Publisher, PublisherConfig, outbox_status
    from allocation_api.store.embedded import start_embedded
    from allocation_api.store.engine import create_engine

    settings = _settings()
    config = PublisherConfig.from_settings(settings)
    if config is None:
        print(
            "allocation-api publish-events: missing setting ALLOCATION_API_EVENTS_TOPIC_ARN",
            file=sys.stderr,
        )
        return 2

    async def run() -> dict[str, object]:
        url = settings.database_url
        server = None
        if url is None:
            server, url = await start_embedded(settings.data_dir)
        engine = create_engine(url)
        try:
            async with Publisher(engine, config) as publisher:
                report = await publisher.drain()
                report.pruned = await publisher.prune()
            status = await outbox_status(engine)
        finally:
            await engine.dispose()
            if server is not None:
                server.stop()
        return {**report.as_dict(), "backlog": status.backlog, "parkedTotal": status.parked}

    print(orjson.dumps(asyncio.run(run())).decode(), flush=True)
    return 0


def cmd_events_tail(args: argparse.Namespace) -> int:
    """Print each event arriving on the dev stack's queue (one JSON line: the event's
    envelope), deleting it from the queue; Ctrl-C stops."""
    from allocation_api.devstack import dev_json_path
    from allocation_api.events.tail import tail

    path = dev_json_path(_settings())
    events = orjson.loads(path.read_bytes()).get("events") if path.exists() else None
    if not events:
        print(
            f"no dev broker found ({path} has no events): start `allocation-api dev` "
            "(with the dev extra, which brings moto) first",
            file=sys.stderr,
        )
        return 2
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it stops
        asyncio.run(tail(events["endpoint"], events["queueUrl"], limit=args.limit))
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    from allocation_api.schema.build import build_schema

    print(build_schema(Settings(mode="dev", _env_file=None)).as_str())
    return 0


def cmd_schema_check(args: argparse.Namespace) -> int:
    """Breaking SDL changes against the released SDL (see schema/governance.py)."""
    from allocation_api.schema import governance

    if args.release:
        path = governance.release()
        print(f"{path} is now the released SDL; commit it with the release")
        return 0
    try:
        reports = governance.check()
    except governance.ChangesFileError as error:
        print(f"allocation-api schema-check: {error}", file=sys.stderr)
        return 2
    for report in reports:
        print("\n".join(report.lines()))
    return 0 if all(report.ok for report in reports) else 1


def _is_checkout_root(directory: Path) -> bool:
    try:
        project = tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return bool(project.get("project", {}).get("name") == "allocation-api")


def find_dev_json(data_dir: Path, start: Path) -> Path:
    """The running dev stack's `dev.json`, seen from `start` anywhere in the checkout.

    An absolute data directory is the answer itself. A relative one (the
    default `.allocation-api`) is looked for in `start` and each directory
    above it, up to the checkout's root (the `pyproject.toml` of
    allocation-api), where `allocation-api dev` keeps it.
    """
    if data_dir.is_absolute():
        return data_dir / "dev.json"
    for directory in (start, *start.parents):
        candidate = directory / data_dir / "dev.json"
        if candidate.exists() or _is_checkout_root(directory):
            return candidate
    return start / data_dir / "dev.json"


def cmd_token(args: argparse.Namespace) -> int:
    import aiohttp

    from allocation_api.devstack import request_token

    settings = _settings()
    path = find_dev_json(settings.data_dir, Path.cwd())
    if not path.exists():
        print(
            f"allocation-api token: no dev stack found ({path} missing): "
            "start `allocation-api dev` first",
            file=sys.stderr,
        )
        return 2
    try:
        sign_in = orjson.loads(path.read_bytes())["sandbox"]["hmpps-auth"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        print(f"allocation-api token: {path} is not a dev stack's dev.json", file=sys.stderr)
        return 2
    try:
        token = asyncio.run(
            request_token(
                sign_in,
                username=None if args.client else args.user.upper(),
                roles=[r if r.startswith("ROLE_") else f"ROLE_{r}" for r in args.role],
                caseloads=[c.upper() for c in args.caseload],
                expires_in=args.expires_in,
            )
        )
    except (aiohttp.ClientError, OSError) as error:
        print(
            f"allocation-api token: the dev stack's sign-in service ({sign_in}, from {path}) "
            f"did not answer ({type(error).__name__}): is `allocation-api dev` still running?",
            file=sys.stderr,
        )
        return 2
    print(token)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="allocation-api", description=__doc__.split("\n")[0])
    sub = top.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run the whole stack with sandbox data")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument(
        "--trace-console",
        action="store_true",
        help="print every finished span (OpenTelemetry console exporter) to stdout",
    )
    dev.set_defaults(func=cmd_dev)

    serve = sub.add_parser("serve", help="production mode")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    sandbox = sub.add_parser("sandbox", help="run only the fake upstreams")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--seed", type=int, default=42)
    sandbox.add_argument("--prisoners", type=int, default=300, help="prisoners per prison")
    sandbox.add_argument("--poms", type=int, default=12, help="POMs per prison")
    sandbox.add_argument("--latency-ms", type=int, default=0)
    sandbox.add_argument(
        "--production-like",
        action="store_true",
        help="also run `serve` against them, with a sign-in stand-in and database of its own",
    )
    sandbox.add_argument(
        "--api-port", type=int, default=8080, help="with --production-like: serve's port"
    )
    sandbox.set_defaults(func=cmd_sandbox)

    sub.add_parser(
        "reconcile", help="deallocate released / transferred / out-of-scope prisoners"
    ).set_defaults(func=cmd_reconcile)

    recalc = sub.add_parser(
        "recalculate-handovers", help="recalculate the stored handover dates of prisons"
    )
    scope = recalc.add_mutually_exclusive_group()
    scope.add_argument("--prison", action="append", default=None, help="prison code (repeatable)")
    scope.add_argument(
        "--all", action="store_true", help="every prison and prisoner the store knows"
    )
    recalc.set_defaults(func=cmd_recalculate_handovers)

    sub.add_parser(
        "purge-idempotency-keys", help="delete idempotency keys older than the retention"
    ).set_defaults(func=cmd_purge_idempotency_keys)

    sub.add_parser(
        "publish-events", help="publish the outbox's due domain events to SNS once"
    ).set_defaults(func=cmd_publish_events)

    events = sub.add_parser("events", help="the dev stack's domain events")
    events_sub = events.add_subparsers(dest="events_command", required=True)
    tail = events_sub.add_parser("tail", help="print events as they arrive on the dev queue")
    tail.add_argument("--limit", type=int, default=None, help="stop after this many events")
    tail.set_defaults(func=cmd_events_tail)

    sub.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(
        func=cmd_export_schema
    )

    check = sub.add_parser("schema-check", help="breaking SDL changes against the released SDL")
    check.add_argument(
        "--release", action="store_true", help="make the current SDL the released baseline"
    )
    check.set_defaults(func=cmd_schema_check)

    token = sub.add_parser("token", help="print a token the running dev stack accepts")
    token.add_argument("--user", default="SPO_MULTI")
    token.add_argument("--role", action="append", default=None)
    token.add_argument("--caseload", action="append", default=None)
    token.add_argument("--client", action="store_true", help="a client-credentials token")
    token.add_argument("--expires-in", type=int, default=12 * 3600)
    token.set_defaults(func=cmd_token)
    return top


QUIET_COMMANDS = frozenset(
    {
        "token",
        "export-schema",
        "purge-idempotency-keys",
        "recalculate-handovers",
        "schema-check",
        "publish-events",
        "events",
    }
)
"""Commands whose stdout is their product: only warnings go to the log."""

CHATTY_LOGGERS = ("pgserver", "alembic.runtime.plugins", "alembic.runtime.migration")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.command in QUIET_COMMANDS else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for name in CHATTY_LOGGERS:  # every command line they run, at INFO: noise for users
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.command == "token":
        args.role = args.role or ["ROLE_ALLOC_MGR"]
        args.caseload = args.caseload or ["LEI", "MDI", "BXI"]
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
