"""The services' HTTP server gives a request's headers a deadline: a client that trickles them
is answered 408 and loses its connection, while ordinary and kept-alive requests are served."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from povguard.serving import protocol


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    config = uvicorn.Config(
        hello, host="127.0.0.1", port=0, http=protocol(0.5), log_config=None, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    await task


async def test_a_client_trickling_its_headers_is_cut_off(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    answer = asyncio.create_task(reader.read())
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
    for n in range(20):  # one header line every 0.2 s: 4 s if nothing stopped it
        await asyncio.sleep(0.2)
        if answer.done():
            break
        try:
            writer.write(f"X-Slow-{n}: 1\r\n".encode())
            await writer.drain()
        except ConnectionError:
            break
    assert (await asyncio.wait_for(answer, 2)).startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 2
    writer.transport.abort()


async def test_requests_and_kept_alive_connections_are_served(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(2):
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert head.startswith(b"HTTP/1.1 200")
        assert await reader.readexactly(2) == b"ok"
        # Idle between requests is the keep-alive timeout's business, not the header deadline's.
        await asyncio.sleep(0.7)
    writer.close()
