"""create_app(settings) -> Starlette: the only place wiring happens.

The lifespan owns every long-lived resource (the embedded Postgres when no
database URL is set, the SQLAlchemy engine, one aiohttp session per upstream,
the JWKS cache, the periodic purge of expired idempotency keys, the publisher
of the outbox's domain events) and closes
them in reverse order on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress

import aiohttp
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from allocation_api import __version__, health
from allocation_api.auth.errors import JwksUnavailable
from allocation_api.auth.jwks import JwksCache
from allocation_api.auth.verify import TokenVerifier
from allocation_api.errors import ConfigurationError
from allocation_api.events.publisher import Publisher, PublisherConfig
from allocation_api.resolvers.context import Services
from allocation_api.resolvers.shared_caches import SharedCaches
from allocation_api.runtime import tune_garbage_collector
from allocation_api.schema.build import build_schema
from allocation_api.settings import Settings
from allocation_api.store.embedded import start_embedded
from allocation_api.store.engine import create_engine, session_factory
from allocation_api.store.idempotency import purge_periodically
from allocation_api.store.migrate import run_migrations
from allocation_api.store.read_pool import ReadPool
from allocation_api.upstream import Upstreams
from allocation_api.web import handovers, rest, subject_access
from allocation_api.web.errors import request_error
from allocation_api.web.graphiql import STATIC_DIR, graphiql_page
from allocation_api.web.graphql import GraphQLEndpoint, json_response
from allocation_api.web.metrics import Metrics
from allocation_api.web.observe import ObserveRequests
from allocation_api.web.openapi import OpenApiEndpoints
from allocation_api.web.persisted import PersistedQueries

log = logging.getLogger("allocation_api")

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def jwks_url(settings: Settings) -> str:
    """Where the sign-in service publishes its signing keys."""
    if settings.hmpps_auth_url is None:
        raise ConfigurationError("ALLOCATION_API_HMPPS_AUTH_URL is required to verify tokens")
    return f"{settings.hmpps_auth_url.rstrip('/')}/auth/.well-known/jwks.json"


async def refuse_sandbox_sign_in(settings: Settings) -> None:
    """`serve`'s check before it starts: raise `ConfigurationError` (one line) when the
    configured sign-in service publishes a sandbox key.

    The app's start-up makes the same check, but a failed start-up reaches the
    operator as uvicorn's traceback; this says it in one sentence. A sign-in
    service that cannot be reached is left to the app, which starts and retries.
    The JWKS cache's own log lines are held back meanwhile: the exception is
    the verdict, and the app logs again if the problem persists.
    """
    cache_log = logging.getLogger(JwksCache.__module__)
    level = cache_log.level
    cache_log.setLevel(logging.CRITICAL)
    try:
        async with aiohttp.ClientSession() as session:
            jwks = JwksCache(jwks_url(settings), session, refuse_sandbox_keys=True)
            with suppress(JwksUnavailable):
                await jwks.ensure_allowed()
    finally:
        cache_log.setLevel(level)


async def open_services(settings: Settings, stack: AsyncExitStack) -> Services:
    """Create the long-lived resources; `stack` closes them in reverse order."""
    url = settings.database_url
    if url is None:
        embedded, url = await start_embedded(settings.data_dir)
        stack.callback(embedded.stop)
        log.info("embedded PostgreSQL under %s", settings.data_dir)
    if settings.migrate_on_start_on:
        await run_migrations(url)
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    stack.push_async_callback(engine.dispose)
    # The request path's reads: a plain asyncpg pool of the same size (read_pool.py).
    reads = await ReadPool.open(
        engine,
        max_size=settings.db_pool_size + settings.db_max_overflow,
        acquire_timeout_s=settings.db_pool_timeout_s,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    stack.push_async_callback(reads.close)
    upstreams = await Upstreams.open(settings)
    stack.push_async_callback(upstreams.close)
    issuer = settings.issuer
    if issuer is None or settings.hmpps_auth_url is None:
        raise ConfigurationError("ALLOCATION_API_HMPPS_AUTH_URL is required to verify tokens")
    auth_session = aiohttp.ClientSession()
    stack.push_async_callback(auth_session.close)
    # Production refuses to trust any sandbox signing key, whatever the JWKS says.
    jwks = JwksCache(jwks_url(settings), auth_session, refuse_sandbox_keys=not settings.is_dev)
    if not settings.is_dev:
        try:
            await jwks.ensure_allowed()
        except JwksUnavailable:
            log.warning("sign-in service JWKS not reachable at start; will retry per request")
    verifier = TokenVerifier(jwks, issuer=issuer, leeway_s=settings.token_leeway_s)
    return Services(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        reads=reads,
        upstreams=upstreams,
        caches=SharedCaches.from_settings(settings),
        verifier=verifier,
    )


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings, *, dev_token: str | None = None) -> Starlette:
    """The ASGI app. `dev_token` pre-fills GraphiQL's Authorization header (dev only)."""
    schema = build_schema(settings)
    metrics = Metrics()
    endpoint = GraphQLEndpoint(schema, metrics, PersistedQueries(settings.apq_cache_size))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.services = services = await open_services(settings, stack)
            metrics.bind(services)
            for upstream in services.upstreams.breakers():
                services.upstreams.http(upstream).observer = metrics.observe_upstream
            if settings.idempotency_purge_interval_s > 0:
                purging = asyncio.create_task(
                    purge_periodically(
                        services.engine,
                        retention=settings.idempotency_retention,
                        batch_size=settings.idempotency_purge_batch,
                        interval_s=settings.idempotency_purge_interval_s,
                    ),
                    name="purge-idempotency-keys",
                )
                # Stopped before the engine it uses is disposed (the stack unwinds in reverse).
                stack.push_async_callback(_stop, purging)
            events = PublisherConfig.from_settings(settings)
            if events is None:
                log.info("no ALLOCATION_API_EVENTS_TOPIC_ARN: domain events stay in the outbox")
            elif settings.events_publish_interval_s > 0:
                publisher = await stack.enter_async_context(
                    Publisher(services.engine, events, metrics.events)
                )
                publishing = asyncio.create_task(
                    publisher.run(interval_s=settings.events_publish_interval_s),
                    name="publish-events",
                )
                # Cancelled before its client and the engine close; a batch cut short
                # rolls back and its rows stay pending (published again: at least once).
                stack.push_async_callback(_stop, publishing)
            yield

    async def graphql(request: Request) -> Response:
        # A browser opening the URL (HTML wanted, no GraphQL parameters) gets GraphiQL
        # in dev; every other GET or POST is a GraphQL-over-HTTP request.
        if (
            request.method == "GET"
            and settings.is_dev
            and "text/html" in request.headers.get("accept", "")
            and not {"query", "extensions"} & set(request.query_params)
        ):
            return graphiql_page(request, dev_token)
        return await endpoint.handle(request)

    # Every REST endpoint, served and published in /v3/api-docs together
    # (web/rest.py: add another module's `RestRoute`s to this one tuple).
    rest_routes = (*rest.routes(metrics), *handovers.routes(), *subject_access.routes())
    openapi = OpenApiEndpoints(rest_routes, version=__version__)

    routes: list[Route | Mount] = [
        Route("/graphql", graphql, methods=["GET", "POST"], name="graphql"),
        # Every method reaches the endpoint, which answers 405 in the contract's JSON.
        *(
            Route(r.path, r.endpoint, methods=_ALL_METHODS, name=r.operation_id)
            for r in rest_routes
        ),
        Route("/v3/api-docs", openapi.docs, methods=["GET"]),
        Route("/swagger-ui.html", openapi.page, methods=["GET"]),
        Route("/health", health.health),
        Route("/health/ping", health.ping),
        Route("/health/liveness", health.liveness),
        Route("/health/readiness", health.readiness),
        Route("/info", health.info),
        Route("/metrics", metrics.endpoint),
    ]
    if settings.is_dev:
        routes.append(
            Mount("/graphql/static", StaticFiles(directory=STATIC_DIR), name="graphiql-static")
        )

    async def internal_error(request: Request, exc: Exception) -> Response:
        # Last resort for bugs outside GraphQL execution: JSON, no traceback.
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
        return json_response(request_error("Internal error", "INTERNAL"), 500)

    # Outermost: the access line, server span and request headers cover every route.
    observe = Middleware(
        ObserveRequests,
        metrics=metrics,
        routes=frozenset(r.path for r in routes if isinstance(r, Route)),
    )
    app = Starlette(
        routes=routes,
        middleware=[observe],
        lifespan=lifespan,
        exception_handlers={500: internal_error},
    )
    app.state.schema = schema
    app.state.health_check = health.HealthCheck(settings.health_cache_s)
    return app


def create_serving_app(settings: Settings, *, dev_token: str | None = None) -> Starlette:
    """The app for a process that will only serve it (`serve`, `dev`, the benchmark):
    created first, so the garbage-collector tuning freezes what start-up made."""
    app = create_app(settings, dev_token=dev_token)
    tune_garbage_collector(settings.gc_gen0_threshold)
    return app
