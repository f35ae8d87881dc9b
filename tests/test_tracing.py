"""tracing.py and logging_setup.py on their own: propagation, the off switch, formats."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator

import orjson
import pytest
from aiohttp import web
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from allocation_api import build_info as build_info_module
from allocation_api import logging_setup, tracing
from allocation_api.upstream.breaker import CircuitBreaker
from allocation_api.upstream.http import UpstreamHttp, outcome_of, url_template
from allocation_api.upstream.retry import RetryPolicy
from allocation_api.web.metrics import MAX_OPERATION_NAMES, Metrics

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure(service_name="test", service_version="0", exporters=(exporter,))
    try:
        yield exporter
    finally:
        tracing.reset()


@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A real HTTP server on loopback that records the headers it receives."""
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append({k.lower(): v for k, v in request.headers.items()})
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/thing/{key}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


def _http(url: str) -> UpstreamHttp:
    return UpstreamHttp(
        "prison-api",
        url,
        tokens=None,
        connect_timeout_s=2,
        total_timeout_s=5,
        max_connections=2,
        retry=RetryPolicy(retries=0, default_budget=0),
        breaker=CircuitBreaker("prison-api", failure_threshold=5, reset_timeout_s=10),
    )


async def test_upstream_calls_carry_the_current_spans_traceparent(
    echo_server: tuple[str, list[dict[str, str]]], spans: InMemorySpanExporter
) -> None:
    url, seen = echo_server
    http = _http(url)
    observed: list[tuple[str, str]] = []
    http.observer = lambda upstream, outcome, _seconds: observed.append((upstream, outcome))
    try:
        with tracing.span("parent"):
            assert await http.get_json("/thing/A1234BC") == {"ok": True}
    finally:
        await http.close()
    (client,) = [s for s in spans.get_finished_spans() if s.name.startswith("GET")]
    assert client.name == "GET /thing/{}"
    expected = f"00-{client.context.trace_id:032x}-{client.context.span_id:016x}-"
    assert [h["traceparent"][: len(expected)] for h in seen] == [expected]
    assert observed == [("prison-api", "ok")]


async def test_with_tracing_off_the_callers_traceparent_is_passed_through(
    echo_server: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = echo_server
    http = _http(url)
    try:
        with tracing.request_scope("r1", TRACEPARENT):
            await http.get_json("/thing/1")
        await http.get_json("/thing/2")  # outside any request: nothing to pass on
    finally:
        await http.close()
    assert seen[0]["traceparent"] == TRACEPARENT
    assert "traceparent" not in seen[1]


def test_off_is_one_shared_null_context() -> None:
    assert not tracing.enabled()
    assert tracing.span("a") is tracing.span("b", {"x": 1})
    assert tracing.start_span("a", {}) is None
    assert tracing.extract({"traceparent": TRACEPARENT}) is None


@pytest.mark.parametrize(
    ("header", "trace_id"),
    [
        (TRACEPARENT, "4bf92f3577b34da6a3ce929d0e0e4736"),
        (TRACEPARENT.upper(), "4bf92f3577b34da6a3ce929d0e0e4736"),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_incoming_trace_ids(header: str | None, trace_id: str | None) -> None:
    assert tracing.incoming_trace_id(header) == trace_id


def test_url_templates_and_outcomes() -> None:
    assert url_template("/users/SPO_MULTI/caseloads") == "/users/{}/caseloads"
    assert url_template("/api/staff/123") == "/api/staff/{}"
    assert url_template("/prisoner-search/prisoner-numbers") == "/prisoner-search/prisoner-numbers"
    from allocation_api.errors import (
        UpstreamNotFound,
        UpstreamRejected,
        UpstreamTimeout,
        UpstreamUnavailable,
    )

    assert outcome_of(UpstreamTimeout("t", upstream="x")) == "timeout"
    assert outcome_of(UpstreamNotFound("n", upstream="x", status=404)) == "client_error"
    assert outcome_of(UpstreamRejected("r", upstream="x", status=502)) == "server_error"
    assert outcome_of(UpstreamRejected("r", upstream="x", status=None)) == "server_error"
    assert outcome_of(UpstreamUnavailable("u", upstream="x")) == "unavailable"


def test_operation_labels_are_bounded() -> None:
    metrics = Metrics()
    names = [f"Op{i}" for i in range(MAX_OPERATION_NAMES + 10)]
    labels = [metrics.operation_label(name) for name in names]
    assert labels[:MAX_OPERATION_NAMES] == names[:MAX_OPERATION_NAMES]
    assert set(labels[MAX_OPERATION_NAMES:]) == {"other"}
    assert metrics.operation_label("Op0") == "Op0"  # a known name stays known
    assert metrics.operation_label(None) == "anonymous"
    fresh = Metrics()
    assert fresh.operation_label("bad name!") == "other"
    assert fresh.operation_label("x" * 65) == "other"


def _record(logger: str = "allocation_api.test", **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(logger, logging.WARNING, __file__, 1, "hello %s", ("you",), None)
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_the_request_and_trace_ids_and_extras() -> None:
    formatter = logging_setup.JsonFormatter()
    request_filter = logging_setup.RequestContextFilter()
    with tracing.request_scope("req-1", TRACEPARENT):
        record = _record(status=200, path="/graphql")
        request_filter.filter(record)
    line = orjson.loads(formatter.format(record))
    assert line["message"] == "hello you"
    assert line["level"] == "WARNING"
    assert line["request_id"] == "req-1"
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert (line["status"], line["path"]) == (200, "/graphql")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = orjson.loads(logging_setup.JsonFormatter().format(failed))
    assert line["exc_type"] == "ValueError"
    assert "boom" in line["exc"]
    assert "request_id" not in line  # logged outside any request


def test_text_lines_are_one_line_of_key_values() -> None:
    text = logging_setup.TextFormatter(colour=False).format(_record(status=200, user="SPO A"))
    assert "\n" not in text
    assert text.endswith('hello you  status=200 user="SPO A"')


def test_format_choice() -> None:
    tty, pipe = _Tty(), io.StringIO()
    assert logging_setup.wants_json("auto", dev=False, stream=tty)
    assert not logging_setup.wants_json("auto", dev=True, stream=tty)
    assert logging_setup.wants_json("auto", dev=True, stream=pipe)
    assert logging_setup.wants_json("json", dev=True, stream=tty)
    assert not logging_setup.wants_json("text", dev=False, stream=pipe)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_configure_routes_every_logger_through_one_handler() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    out = io.StringIO()
    try:
        logging_setup.configure(log_format="json", stream=out)
        logging.getLogger("uvicorn.error").warning("started")
        logging.getLogger("allocation_api.x").info("hi")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert [(x["logger"], x["message"]) for x in lines] == [
        ("uvicorn.error", "started"),
        ("allocation_api.x", "hi"),
    ]


def test_build_info_prefers_the_recorded_build(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = {"commit": "abc123", "branch": "main", "time": "2026-01-01T00:00:00Z"}
    monkeypatch.setattr(build_info_module, "_recorded", lambda: recorded)
    build_info_module.build_info.cache_clear()
    try:
        info = build_info_module.build_info()
        assert {k: info[k] for k in ("commit", "branch", "time", "source")} == {
            **recorded,
            "source": "build",
        }
        monkeypatch.setattr(build_info_module, "_recorded", lambda: None)
        monkeypatch.setattr(build_info_module, "_from_git", lambda: None)
        build_info_module.build_info.cache_clear()
        info = build_info_module.build_info()
        assert (info["commit"], info["branch"], info["time"]) == ("unknown",) * 3
    finally:
        build_info_module.build_info.cache_clear()


def test_dev_takes_the_console_exporter_flag() -> None:
    from allocation_api.cli import parser

    assert parser().parse_args(["dev", "--trace-console"]).trace_console is True
    assert parser().parse_args(["dev"]).trace_console is False
