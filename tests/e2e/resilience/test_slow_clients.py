"""Slow and oversized clients against the real server (web/server.py), with small limits.

Raw sockets, short client-side timeouts, every loop bounded: each test ends by
itself whatever the server does. The only time bound asserted is "closed within
a generous bound" (`CLOSED_WITHIN`), far above the configured deadlines.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import psutil
import pytest

from allocation_api.sandbox import Sandbox
from tests.conftest import RunningApi, running_api, settings_for

MAX_HEADER_BYTES = 4096
MAX_HEADERS = 20
HEADER_TIMEOUT_S = 0.5
BODY_TIMEOUT_S = 0.5
MAX_CONNECTIONS = 6
CLOSED_WITHIN = 10.0


@pytest.fixture(scope="module")
async def limited_api(box: Sandbox, resilience_db: str) -> AsyncIterator[RunningApi]:
    settings = settings_for(
        box,
        resilience_db,
        http_max_header_bytes=MAX_HEADER_BYTES,
        http_max_headers=MAX_HEADERS,
        http_header_timeout_s=HEADER_TIMEOUT_S,
        http_body_timeout_s=BODY_TIMEOUT_S,
        http_keep_alive_s=2,
        http_max_connections=MAX_CONNECTIONS,
    )
    async with running_api(settings, box) as running:
        yield running


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@contextlib.asynccontextmanager
async def connection(api: RunningApi) -> AsyncIterator[Conn]:
    port = int(api.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def answer_then_close(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (bounded)."""
    return await asyncio.wait_for(reader.read(), CLOSED_WITHIN)


async def ping(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """One kept-alive GET /health/ping; its status line."""
    writer.write(b"GET /health/ping HTTP/1.1\r\nHost: t\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    await asyncio.wait_for(reader.readexactly(length), 5)
    return head.split(b"\r\n")[0]


async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, byte: bytes) -> bytes:
    """Send one byte every 50 ms until the server answers or closes; what it sent."""
    for _ in range(int(CLOSED_WITHIN / 0.05)):
        try:
            writer.write(byte)
            await writer.drain()
        except (ConnectionError, OSError):
            return b""
        try:
            first = await asyncio.wait_for(reader.read(65_536), 0.05)  # cancel-safe
        except TimeoutError:
            continue
        return first + await answer_then_close(reader) if first else b""
    pytest.fail("the trickle was never cut off")


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


async def test_a_request_within_the_limits_is_served_and_kept_alive(
    limited_api: RunningApi,
) -> None:
    headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(MAX_HEADERS - 2))
    async with connection(limited_api) as (reader, writer):
        writer.write(b"GET /health/ping HTTP/1.1\r\nHost: t\r\n" + headers + b"\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert status(head) == 200
        await asyncio.wait_for(reader.readuntil(b"}"), 5)
        # Waiting between requests is the keep-alive's business, not the header deadline's.
        await asyncio.sleep(HEADER_TIMEOUT_S * 2)
        assert await ping(reader, writer) == b"HTTP/1.1 200 OK"


async def test_an_oversized_header_is_refused_with_431_and_closed(
    limited_api: RunningApi,
) -> None:
    async with connection(limited_api) as (reader, writer):
        writer.write(
            b"GET /health/ping HTTP/1.1\r\nHost: t\r\nX-Big: "
            + b"a" * MAX_HEADER_BYTES
            + b"\r\n\r\n"
        )
        answer = await answer_then_close(reader)
    assert status(answer) == 431
    assert b"connection: close" in answer.lower()


async def test_too_many_headers_are_refused_with_431_and_closed(limited_api: RunningApi) -> None:
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
    async with connection(limited_api) as (reader, writer):
        writer.write(b"GET /health/ping HTTP/1.1\r\nHost: t\r\n" + headers + b"\r\n")
        answer = await answer_then_close(reader)
    assert status(answer) == 431
    assert b"Too many request headers" in answer


async def test_a_silent_connection_is_closed_after_the_header_timeout(
    limited_api: RunningApi,
) -> None:
    async with connection(limited_api) as (reader, _):
        assert await answer_then_close(reader) == b""


async def test_half_a_header_is_answered_408_and_closed(limited_api: RunningApi) -> None:
    async with connection(limited_api) as (reader, writer):
        writer.write(b"GET /health/ping HTTP/1.1\r\nHost: t\r\nX-Half: ")
        answer = await answer_then_close(reader)
    assert status(answer) == 408


async def test_a_trickled_header_is_closed_at_the_header_deadline(
    limited_api: RunningApi,
) -> None:
    """Each byte arriving in time must not reset the deadline (as keep-alive would)."""
    async with connection(limited_api) as (reader, writer):
        writer.write(b"GET /health/ping HTTP/1.1\r\nHost: t\r\n")
        answer = await trickle(reader, writer, b"X")
    assert answer == b"" or status(answer) == 408


async def test_a_trickled_body_is_answered_408_and_closed(limited_api: RunningApi) -> None:
    token = (await limited_api.token()).encode()
    async with connection(limited_api) as (reader, writer):
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + token + b"\r\nContent-Length: 1000\r\n\r\n{"
        )
        answer = await trickle(reader, writer, b" ")
    assert status(answer) == 408


async def test_connections_over_the_cap_are_refused_with_503(limited_api: RunningApi) -> None:
    async with contextlib.AsyncExitStack() as stack:
        held = [await stack.enter_async_context(connection(limited_api)) for _ in range(6)]
        # Each one served a request, so the server counts it (kept alive for 2 s).
        for reader, writer in held[:MAX_CONNECTIONS]:
            assert await ping(reader, writer) == b"HTTP/1.1 200 OK"
        async with connection(limited_api) as (reader, writer):
            writer.write(b"GET /health/ping HTTP/1.1\r\nHost: t\r\n\r\n")
            answer = await answer_then_close(reader)
        assert status(answer) == 503


async def test_many_unfinished_big_headers_hold_bounded_memory(limited_api: RunningApi) -> None:
    """20 connections each trying to send 16 MB of header: each is cut off after about
    the limit, and the process (server and clients) grows by far less than 320 MB."""
    process = psutil.Process(os.getpid())
    before = process.memory_info().rss
    chunk = b"a" * 65_536
    sent_before_cut: list[int] = []

    async def big_header() -> None:
        async with connection(limited_api) as (reader, writer):
            writer.write(b"GET /health/ping HTTP/1.1\r\nHost: t\r\nX-Big: ")
            sent = 0
            while sent < 16 * 1024 * 1024:
                try:
                    writer.write(chunk)
                    await asyncio.wait_for(writer.drain(), CLOSED_WITHIN)
                except (ConnectionError, OSError):
                    break
                sent += len(chunk)
                if reader.at_eof() or reader._buffer:  # the 431 arrived
                    break
                await asyncio.sleep(0)
            sent_before_cut.append(sent)
            answer = await answer_then_close(reader)
            assert answer == b"" or status(answer) == 431

    semaphore = asyncio.Semaphore(MAX_CONNECTIONS - 1)

    async def bounded() -> None:
        async with semaphore:
            await big_header()

    await asyncio.gather(*(bounded() for _ in range(20)))
    grown = process.memory_info().rss - before
    assert len(sent_before_cut) == 20
    assert max(sent_before_cut) < 16 * 1024 * 1024, sent_before_cut
    assert grown < 416 * 1024 * 1024, f"grew {grown / 1e6:.0f} MB"
