"""Traces, access log lines, metrics and /info, through the running test API.

Tracing is switched on for one test at a time with an in-memory exporter
(the API runs in this process), so the spans of exactly one request are
inspected; counts are compared with the request's own `extensions.calls`.
"""

from __future__ import annotations

import io
import logging
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from multidict import CIMultiDict
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from allocation_api import __version__, tracing
from allocation_api.logging_setup import JsonFormatter, RequestContextFilter
from tests.conftest import RunningApi
from tests.e2e.api.helpers import fresh_prisoner, set_tier

ROOT = Path(__file__).resolve().parents[3]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN}-01"

PAGE = """query TracedPage { prison(code: "MDI") {
  name
  prisoners(first: 7) { nodes {
    offenderNo firstName responsibility
    caseInformation { tier }
    allocation { primaryPom { firstName lastName } }
} } } }"""


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure(service_name="allocation-api", service_version="test", exporters=(exporter,))
    try:
        yield exporter
    finally:
        tracing.reset()


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    """What the access logger writes, as the JSON formatter of `serve` formats it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("allocation_api.access")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def _post(
    api: RunningApi, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> tuple[dict[str, Any], CIMultiDict[str]]:
    token = await api.token()
    async with api.http.post(
        f"{api.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}", **headers},
    ) as response:
        assert response.status == 200
        return orjson.loads(await response.read()), CIMultiDict(response.headers)


def _by_kind(finished: tuple[ReadableSpan, ...], name_prefix: str) -> list[ReadableSpan]:
    return [s for s in finished if s.name.startswith(name_prefix)]


async def test_one_trace_covers_the_operation_its_loaders_upstream_calls_and_sql(
    api: RunningApi, spans: InMemorySpanExporter
) -> None:
    await api.token()  # the caller's token is fetched outside the traced request
    body, headers = await _post(api, PAGE, traceparent=TRACEPARENT)
    assert "errors" not in body, body
    calls = body["extensions"]["calls"]
    finished = spans.get_finished_spans()

    # One trace, continuing the caller's.
    assert {s.context.trace_id for s in finished} == {int(TRACE_ID, 16)}
    (server,) = [s for s in finished if s.kind == SpanKind.SERVER]
    assert server.name == "POST /graphql"
    assert server.parent is not None
    assert server.parent.span_id == int(PARENT_SPAN, 16)
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 200
    (operation,) = [s for s in finished if s.name.startswith("query ")]
    assert operation.name == "query TracedPage"
    assert operation.parent is not None
    assert operation.parent.span_id == server.context.span_id
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.name"] == "TracedPage"
    assert operation.attributes["graphql.operation.type"] == "query"
    assert re.fullmatch(r"[0-9a-f]{64}", str(operation.attributes["graphql.document.hash"]))
    assert operation.attributes["graphql.errors.count"] == 0

    # Response headers name the trace; the server span is what `traceparent` points at.
    assert headers["x-trace-id"] == TRACE_ID
    assert headers["traceparent"] == f"00-{TRACE_ID}-{server.context.span_id:016x}-01"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])
    assert len(headers.getall("x-request-id")) == 1

    # Every upstream request and SQL statement is one span, exactly as counted.
    upstream = [
        s for s in finished if s.kind == SpanKind.CLIENT and "url.template" in (s.attributes or {})
    ]
    sql = [s for s in finished if s.name.startswith("sql ")]
    assert len(upstream) == calls["upstream"] > 0
    assert len(sql) == calls["store"] > 0
    for span in upstream:
        assert span.attributes is not None
        assert span.attributes["http.response.status_code"] == 200
        assert span.attributes["http.request.resend_count"] == 0
        assert "{}" in span.name or span.name.split()[1] == span.attributes["url.template"]
    for span in sql:
        assert span.attributes is not None
        assert span.attributes["db.pool"] == "read"

    # Loader batches: one span each, with their key counts, inside the operation.
    loaders = _by_kind(finished, "loader ")
    names = {str((s.attributes or {})["loader.name"]) for s in loaders}
    assert {"roll_by_prison", "owned_records"} <= names
    owned = [s for s in loaders if (s.attributes or {})["loader.name"] == "owned_records"]
    assert [s.attributes["loader.keys"] for s in owned if s.attributes] == [7]
    span_ids = {s.context.span_id for s in finished}
    for span in [*loaders, *upstream, *sql]:
        assert span.parent is not None
        assert span.parent.span_id in span_ids
        assert operation.start_time is not None
        assert span.start_time is not None
        assert span.start_time >= operation.start_time


async def test_a_mutation_traces_its_sqlalchemy_statements(
    api: RunningApi, spans: InMemorySpanExporter
) -> None:
    offender_no = await fresh_prisoner(api, "LEI")
    spans.clear()
    body, _ = await _post(
        api,
        """mutation Tier($input: CaseInformationInput!) { updateCaseInformation(input: $input) {
             __typename } }""",
        {"input": {"offenderNo": offender_no, "tier": "B", "probationService": "ENGLAND"}},
    )
    assert body["data"]["updateCaseInformation"]["__typename"] == "CaseInformation", body
    finished = spans.get_finished_spans()
    sql = [s for s in finished if s.name.startswith("sql ")]
    assert len(sql) == body["extensions"]["calls"]["store"]
    assert any((s.attributes or {})["db.pool"] == "write" for s in sql)
    (operation,) = [s for s in finished if s.name.startswith("mutation ")]
    assert operation.name == "mutation Tier"
    assert len({s.context.trace_id for s in finished}) == 1


async def test_without_tracing_the_callers_trace_id_is_kept_and_passed_on(
    api: RunningApi,
) -> None:
    assert not tracing.enabled()
    body, headers = await _post(
        api,
        '{ prison(code: "LEI") { name } }',
        traceparent=TRACEPARENT,
        **{"x-request-id": "req-42"},
    )
    assert "errors" not in body
    assert headers["x-trace-id"] == TRACE_ID
    assert headers["x-request-id"] == "req-42"
    assert "traceparent" not in headers  # no span of ours to point at
    _, fresh = await _post(api, '{ prison(code: "LEI") { name } }', traceparent="00-garbage")
    assert re.fullmatch(r"[0-9a-f]{32}", fresh["x-trace-id"])
    assert fresh["x-trace-id"] != TRACE_ID


async def test_one_json_access_line_per_request_with_its_fields(
    api: RunningApi, access_lines: io.StringIO
) -> None:
    body, headers = await _post(api, PAGE, traceparent=TRACEPARENT, **{"x-request-id": "line-1"})
    lines = [orjson.loads(line) for line in access_lines.getvalue().splitlines()]
    assert len(lines) == 1
    (line,) = lines
    calls = body["extensions"]["calls"]
    assert line["logger"] == "allocation_api.access"
    assert line["level"] == "INFO"
    assert line["method"] == "POST"
    assert line["path"] == "/graphql"
    assert line["status"] == 200
    assert line["operation"] == "TracedPage"
    assert line["operation_type"] == "query"
    assert line["user"] == "SPO_MULTI"
    assert line["errors"] == 0
    assert line["upstream_calls"] == calls["upstream"]
    assert line["sql_statements"] == calls["store"]
    assert line["request_id"] == "line-1" == headers["x-request-id"]
    assert line["trace_id"] == TRACE_ID
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["message"] == "POST /graphql 200"


async def test_probes_log_below_info_and_refusals_log_their_status(
    api: RunningApi, access_lines: io.StringIO
) -> None:
    async with api.http.get(f"{api.url}/health/ping") as response:
        assert response.status == 200
        assert "x-request-id" in response.headers
    async with api.http.post(f"{api.url}/graphql", json={"query": "{ __typename }"}) as response:
        assert response.status == 401
    (line,) = [orjson.loads(x) for x in access_lines.getvalue().splitlines()]
    assert (line["path"], line["status"]) == ("/graphql", 401)
    assert "operation" not in line  # nothing was parsed for an anonymous caller


async def test_metrics_expose_process_operation_upstream_breaker_and_pool_families(
    api: RunningApi,
) -> None:
    await _post(api, PAGE)
    async with api.http.get(f"{api.url}/metrics") as response:
        text = await response.text()
    for family in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "python_info",
        "python_gc_collections_total",
    ):
        assert re.search(rf"^{family}[{{ ]", text, re.M), family
    assert re.search(
        r'^allocation_api_graphql_operations_total\{operation="TracedPage",status="200",type="query"\} \d',
        text,
        re.M,
    )
    assert re.search(
        r'^allocation_api_graphql_operation_seconds_count\{operation="TracedPage",type="query"\} \d',
        text,
        re.M,
    )
    assert re.search(
        r'^allocation_api_upstream_calls_total\{outcome="ok",upstream="prisoner-search"\} \d',
        text,
        re.M,
    )
    assert re.search(
        r'^allocation_api_upstream_call_seconds_bucket\{le="0.005",outcome="ok",upstream="prison-api"\}',
        text,
        re.M,
    )
    for upstream in ("prisoner-search", "prison-api", "nomis-user-roles", "hmpps-auth"):
        states = dict(
            re.findall(
                rf'^allocation_api_circuit_breaker_state\{{allocation_api_circuit_breaker_state="([a-z-]+)",upstream="{upstream}"\}} (\S+)',
                text,
                re.M,
            )
        )
        assert set(states) == {"closed", "open", "half-open"}, upstream
        assert sorted(states.values()) == ["0.0", "0.0", "1.0"], upstream
    for pool in ("read", "write"):
        for state in ("in_use", "idle"):
            assert re.search(
                rf'^allocation_api_db_pool_connections\{{pool="{pool}",state="{state}"\}} \d',
                text,
                re.M,
            )
        assert re.search(
            rf'^allocation_api_db_pool_max_connections\{{pool="{pool}"\}} 20\.0', text, re.M
        )
    labels = set(re.findall(r'allocation_api_graphql_operations_total\{operation="([^"]*)"', text))
    assert len(labels) <= 52  # fifty names, "other" and "anonymous"
    assert "anonymous" in labels or len(labels) >= 1


def _git_head() -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


async def test_info_reports_the_build(api: RunningApi) -> None:
    async with api.http.get(f"{api.url}/info") as response:
        info = await response.json()
    assert info["build"]["name"] == "allocation-api"
    assert info["build"]["version"] == __version__
    assert set(info["build"]) == {"name", "version", "time"}
    assert set(info["git"]) == {"commit", "branch", "ref"}
    assert info["mode"] == "dev"
    head = _git_head()
    if head:  # a checkout: read from git at run time
        assert info["git"]["commit"] == head
        assert info["git"]["branch"] != ""


async def test_a_set_tier_helper_still_works_while_traced(
    api: RunningApi, spans: InMemorySpanExporter
) -> None:
    """Tracing changes no answer (the helper asserts the payload)."""
    await set_tier(api, await fresh_prisoner(api, "LEI"), "A")
    assert spans.get_finished_spans()
