"""Prometheus metrics, in a registry per app (tests build many apps per process).

Families (all prefixed `allocation_api_` except the process/runtime ones):

| family | labels | what |
|---|---|---|
| `process_*`, `python_info`, `python_gc_*` | | prometheus_client's collectors |
| `graphql_requests_total` | status | GraphQL HTTP requests |
| `graphql_request_seconds` | | their latency |
| `graphql_operations_total` | operation, type, status | per operation (name bounded, below) |
| `graphql_operation_seconds` | operation, type | latency per operation |
| `upstream_requests_total`, `sql_statements_total` | | calls made while serving GraphQL |
| `upstream_calls_total` | upstream, outcome | every upstream HTTP request (each attempt) |
| `upstream_call_seconds` | upstream, outcome | their latency |
| `circuit_breaker_state` | upstream, (the state) | 1 for the breaker's state |
| `db_pool_connections` | pool, state | `write` (SQLAlchemy) / `read` (asyncpg): in_use, idle |
| `db_pool_max_connections` | pool | the pool's bound |

Label values are bounded: an operation name is used as given for the first
`MAX_OPERATION_NAMES` well-formed names seen, then every new name is `other`
(an anonymous operation is `anonymous`); the type is query, mutation,
subscription or unknown; an outcome is one of `UPSTREAM_OUTCOMES`. The breaker
and pool gauges are read from the app's services when scraped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric, StateSetMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

MAX_OPERATION_NAMES = 50
_OPERATION_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
OPERATION_TYPES = frozenset({"query", "mutation", "subscription"})
UPSTREAM_OUTCOMES = ("ok", "client_error", "server_error", "timeout", "unavailable")
BREAKER_STATES = ("closed", "open", "half-open")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class _ServiceGauges(Collector):
    """Breaker states and pool usage, read from the app's services at scrape time."""

    def __init__(self) -> None:
        self.services: Any = None

    def collect(self) -> Iterable[Metric]:
        services = self.services
        if services is None:
            return []
        breakers = StateSetMetricFamily(
            "allocation_api_circuit_breaker_state",
            "Each upstream's circuit breaker state",
            labels=["upstream"],
        )
        for upstream, state in sorted(services.upstreams.breakers().items()):
            breakers.add_metric([upstream], {s: s == state for s in BREAKER_STATES})
        connections = GaugeMetricFamily(
            "allocation_api_db_pool_connections",
            "Database connections by pool (write: SQLAlchemy, read: asyncpg) and state",
            labels=["pool", "state"],
        )
        bounds = GaugeMetricFamily(
            "allocation_api_db_pool_max_connections",
            "The most connections each pool opens",
            labels=["pool"],
        )
        pool = services.engine.pool
        settings = services.settings
        connections.add_metric(["write", "in_use"], pool.checkedout())
        connections.add_metric(["write", "idle"], pool.checkedin())
        bounds.add_metric(["write"], settings.db_pool_size + settings.db_max_overflow)
        read = services.reads.stats()
        connections.add_metric(["read", "in_use"], read["in_use"])
        connections.add_metric(["read", "idle"], read["idle"])
        bounds.add_metric(["read"], read["max"])
        return [breakers, connections, bounds]


class Metrics:
    """The app's registry and the hooks that feed it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self._services = _ServiceGauges()
        self.registry.register(self._services)
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
            buckets=_LATENCY_BUCKETS,
        )
        self.operations = Counter(
            "allocation_api_graphql_operations",
            "GraphQL requests by operation name (bounded: see web/metrics.py), type and status",
            ["operation", "type", "status"],
            registry=self.registry,
        )
        self.operation_latency = Histogram(
            "allocation_api_graphql_operation_seconds",
            "GraphQL request latency by operation name and type",
            ["operation", "type"],
            registry=self.registry,
            buckets=_LATENCY_BUCKETS,
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
        self.upstream = Counter(
            "allocation_api_upstream_calls",
            "Upstream HTTP requests (each attempt) by upstream and outcome",
            ["upstream", "outcome"],
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "allocation_api_upstream_call_seconds",
            "Upstream HTTP request latency by upstream and outcome",
            ["upstream", "outcome"],
            registry=self.registry,
            buckets=_LATENCY_BUCKETS,
        )
        self.events = EventMetrics(self.registry)
        # `labels()` validates and looks the child up on every call; the label
        # sets are bounded, so their children are kept here.
        self._requests_by_status: dict[int, Counter] = {}
        self._operation_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._upstream_children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self._operation_names: set[str] = set()

    def bind(self, services: Any) -> None:
        """The services whose breakers and pools the gauges report (set by the lifespan)."""
        self._services.services = services

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

    def operation_label(self, name: str | None) -> str:
        """The operation's name as a label value: bounded (see the module docstring)."""
        if name is None:
            return "anonymous"
        if name in self._operation_names:
            return name
        if len(self._operation_names) >= MAX_OPERATION_NAMES or not _OPERATION_NAME.match(name):
            return "other"
        self._operation_names.add(name)
        return name

    def observe_operation(
        self, name: str | None, kind: str | None, *, status: int, seconds: float
    ) -> None:
        label = self.operation_label(name)
        kind = kind if kind in OPERATION_TYPES else "unknown"
        key = (label, kind, status)
        children = self._operation_children.get(key)
        if children is None:
            children = self._operation_children[key] = (
                self.operations.labels(operation=label, type=kind, status=str(status)),
                self.operation_latency.labels(operation=label, type=kind),
            )
        children[0].inc()
        children[1].observe(seconds)

    def observe_upstream(self, upstream: str, outcome: str, seconds: float) -> None:
        """One upstream HTTP request (`upstream/http.py` calls this per attempt)."""
        key = (upstream, outcome)
        children = self._upstream_children.get(key)
        if children is None:
            children = self._upstream_children[key] = (
                self.upstream.labels(upstream=upstream, outcome=outcome),
                self.upstream_latency.labels(upstream=upstream, outcome=outcome),
            )
        children[0].inc()
        children[1].observe(seconds)

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
