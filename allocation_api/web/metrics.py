"""Prometheus metrics, in a registry per app (tests build many apps per process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response


class Metrics:
    """Request counts and latency; upstream requests and SQL statements per request."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "allocation_api_graphql_requests",
            "GraphQL HTTP requests by status code",
            ["status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "allocation_api_graphql_request_seconds",
            "GraphQL request latency",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.upstream_calls = Counter(
            "allocation_api_upstream_requests",
            "HTTP requests made to upstream APIs while serving GraphQL",
            registry=self.registry,
        )
        self.store_calls = Counter(
            "allocation_api_sql_statements",
            "SQL statements sent to Postgres while serving GraphQL",
            registry=self.registry,
        )
        self.events = EventMetrics(self.registry)
        # `labels()` validates and looks the child up on every call; a handful of
        # statuses ever occur, so their children are kept here.
        self._requests_by_status: dict[int, Counter] = {}

    def observe_request(
        self, *, status: int, seconds: float, upstream_calls: int, store_calls: int
    ) -> None:
        requests = self._requests_by_status.get(status)
        if requests is None:
            requests = self._requests_by_status[status] = self.requests.labels(status=str(status))
        requests.inc()
        self.latency.observe(seconds)
        self.upstream_calls.inc(upstream_calls)
        self.store_calls.inc(store_calls)

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class EventMetrics:
    """The outbox publisher's counters and backlog (events/publisher.py's observer)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._published = Counter(
            "allocation_api_events_published",
            "Domain events accepted by the SNS topic",
            registry=registry,
        )
        self._failed = Counter(
            "allocation_api_events_failed",
            "Failed tries to publish a domain event (each retried or parked)",
            registry=registry,
        )
        self._parked = Counter(
            "allocation_api_events_parked",
            "Domain events parked after too many failed tries",
            registry=registry,
        )
        self._backlog = Gauge(
            "allocation_api_events_backlog",
            "Domain events waiting in the outbox at the publisher's last look",
            registry=registry,
        )

    def published(self, count: int) -> None:
        self._published.inc(count)

    def failed(self, count: int) -> None:
        self._failed.inc(count)

    def parked(self, count: int) -> None:
        self._parked.inc(count)

    def backlog(self, count: int) -> None:
        self._backlog.set(count)
