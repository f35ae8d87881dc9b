"""The HTTP server: uvicorn on uvloop + httptools, with the limits a public port needs.

`server_config(app, settings, host=..., port=...)` is the one place the server
is configured; `serve`, `dev` and the tests' running API all use it.

Why a protocol subclass and not another server. What uvicorn (0.55, read in
its source) enforces by itself:

- `timeout_keep_alive`: idle time *between* requests only, armed when a
  response completes. A connection that never finishes its first request
  (nothing sent, half a header, a trickled body) has no timer at all, and
  every byte received cancels the keep-alive timer (uvicorn issue #157 lists
  "timeout-request-start" and "timeout-request-complete"; neither exists).
- `h11_max_incomplete_event_size` (h11 only, 16 KiB by default): bounds the
  request line + headers, answered with a 400. httptools exposes no such
  limit and buffers a header value of any size until it ends: a 64 MB header
  is parsed. No setting counts header fields (uvicorn declined one).
- `limit_concurrency`: answers 503 once a request's headers are complete and
  too many connections or tasks exist. Connections that never complete a
  head are accepted and kept, so it caps nothing for a slow client.

hypercorn has `h11_max_incomplete_size` and `read_timeout`, but parses
HTTP/1 with h11 in pure Python, where httptools uses llhttp in C; the
service is CPU-bound on this path (the benchmark measures server CPU per
request). granian runs its own Rust runtime and workers, so `dev` could not
keep running the API in its own event loop beside the sandbox. Keeping
uvicorn's httptools protocol and adding the missing limits in
`LimitedHttpProtocol` (a few counters and at most one timer per connection; a
request whose head and body arrive in one read arms none) keeps the fast
path: the quick benchmark's CPU per request is the same within its noise.

The limits (all settings, `http_*`):

- request head (request line + headers) larger than `http_max_header_bytes`:
  431, connection closed, counted as it arrives so nothing larger is buffered;
- more than `http_max_headers` header fields: 431, connection closed;
- head not complete within `http_header_timeout_s` of the connection opening
  (or of the first byte of a later request on a kept-alive connection):
  closed (with 408 when part of a head arrived);
- body not complete within `http_body_timeout_s` of the head: 408 when no
  response has started, and closed; the app sees `http.disconnect`;
- idle between requests longer than `http_keep_alive_s`: closed (uvicorn's);
- more than `http_max_connections` open connections: the new one is answered
  503 and closed at once, before it can hold memory.

The GraphQL endpoint bounds the body itself (`max_body_bytes`, 413, read as a
stream) and WebSocket connections, once upgraded, leave this protocol's timers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from allocation_api.settings import Settings

log = logging.getLogger("allocation_api.server")

_HEAD_END = b"\r\n\r\n"
_Phase = Literal["head", "body", "idle"]


def _response(status: int, reason: str, message: str) -> bytes:
    body = message.encode("ascii")
    return b"".join(
        [
            f"HTTP/1.1 {status} {reason}\r\n".encode("ascii"),
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )


HEAD_TOO_LARGE = _response(431, "Request Header Fields Too Large", "Request header too large")
TOO_MANY_HEADERS = _response(431, "Request Header Fields Too Large", "Too many request headers")
TIMED_OUT = _response(408, "Request Timeout", "Request not received in time")
TOO_MANY_CONNECTIONS = _response(503, "Service Unavailable", "Too many connections")


class _Refused(Exception):
    """Raised from a parser callback to stop parsing (httptools turns it into a
    parser error, which uvicorn answers through `send_400_response`)."""


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus header size and count limits, header and
    body read deadlines and a connection cap (values from `Limits` on the config).

    The phase of the connection decides which limit applies: `head` (waiting
    for or reading a request line and headers), `body` (head complete, body
    not), `idle` (the request is complete: the app works or the connection waits
    under uvicorn's keep-alive timer)."""

    limits: Limits  # set on the subclass `server_config` makes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase: _Phase = "head"
        self._head_bytes = 0
        self._header_count = 0
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_phase: _Phase | None = None
        self._refusal: bytes | None = None

    # --- connection ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.connections.discard(self)
            transport.write(TOO_MANY_CONNECTIONS)
            transport.close()
            return
        # Nothing received yet: the header deadline runs from the connection's start.
        self._arm("head", self.limits.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase != "body":
            if self._phase == "idle":  # the first bytes of the next request's head
                self._head_bytes = 0
                self._header_count = 0
            end = data.find(_HEAD_END)
            self._head_bytes += len(data) if end < 0 else end + len(_HEAD_END)
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse(HEAD_TOO_LARGE)
                return
        super().data_received(data)
        if self.transport.is_closing() or self._phase == "idle":
            self._disarm()
        elif self._phase == "head":
            self._arm("head", self.limits.header_timeout_s)
        else:
            self._arm("body", self.limits.body_timeout_s)

    def send_400_response(self, msg: str) -> None:
        # A parser callback raised `_Refused`: answer what it asked for, not a 400.
        if self._refusal is not None:
            self._refuse(self._refusal)
            return
        super().send_400_response(msg)

    # --- parser callbacks ---------------------------------------------------------

    def on_message_begin(self) -> None:
        self._phase = "head"
        super().on_message_begin()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._refusal = TOO_MANY_HEADERS
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._phase = "body"
        self._head_bytes = 0
        self._header_count = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._phase = "idle"
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        self._phase = "idle"
        super().handle_websocket_upgrade()

    # --- deadlines ----------------------------------------------------------------

    def _arm(self, phase: _Phase, seconds: float) -> None:
        """One timer for the current phase; kept (not re-armed) while the phase lasts."""
        if self._deadline is not None and self._deadline_phase == phase:
            return
        self._disarm()
        self._deadline_phase = phase
        self._deadline = self.loop.call_later(seconds, self._expired, phase)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
            self._deadline_phase = None

    def _expired(self, phase: _Phase) -> None:
        self._deadline = None
        self._deadline_phase = None
        if self.transport.is_closing() or phase != self._phase:
            return
        if phase == "head":
            # A client that sent nothing gets no answer; one that sent part of a head, 408.
            self._refuse(TIMED_OUT if self._head_bytes else None)
            return
        cycle = self.cycle
        answered = cycle is not None and cycle.response_started
        if cycle is not None:
            # The app's receive() now returns http.disconnect and its sends are dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        self._refuse(None if answered else TIMED_OUT)

    def _refuse(self, response: bytes | None) -> None:
        self._disarm()
        self._phase = "idle"
        if response is not None:
            self.transport.write(response)
        self.transport.close()


class Limits:
    """The connection limits, from settings (see the module docstring)."""

    __slots__ = (
        "body_timeout_s",
        "header_timeout_s",
        "max_connections",
        "max_header_bytes",
        "max_headers",
    )

    def __init__(self, settings: Settings) -> None:
        self.max_header_bytes = settings.http_max_header_bytes
        self.max_headers = settings.http_max_headers
        self.header_timeout_s = settings.http_header_timeout_s
        self.body_timeout_s = settings.http_body_timeout_s
        self.max_connections = settings.http_max_connections


def protocol_for(settings: Settings) -> type[LimitedHttpProtocol]:
    """A protocol class carrying these settings' limits (uvicorn instantiates it per connection)."""
    return type("LimitedHttpProtocol", (LimitedHttpProtocol,), {"limits": Limits(settings)})


def server_config(
    app: Any,
    settings: Settings,
    *,
    host: str,
    port: int,
    log_level: str = "warning",
    access_log: bool = False,
    proxy_headers: bool = False,
) -> uvicorn.Config:
    """The uvicorn configuration for `app`, with the limits of `settings`.

    uvicorn's logging set-up is left out (`log_config=None`): its records reach
    the root logger, formatted by `logging_setup`; the access line is the app's
    own (`web/observe.py`), so uvicorn's access log is off by default."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol_for(settings),
        loop="auto",  # uvloop (a dependency through uvicorn[standard])
        timeout_keep_alive=settings.http_keep_alive_s,
        proxy_headers=proxy_headers,
        server_header=False,
        log_level=log_level,
        log_config=None,
        access_log=access_log,
        lifespan="on",
    )
