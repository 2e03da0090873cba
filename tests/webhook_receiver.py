"""Webhook test helpers: a tiny receiver (an ASGI app served by uvicorn on a free loopback
port, answering the status codes it is told, then 200, and keeping every request) and a
registered client's token."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from shared.auth import Principal, Role, Scope, issue_token
from shared.settings import Settings


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 200
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    delay_s: float = 0.0  # a slow partner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Received(headers, body, time.time()))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        status = self.statuses.pop(0) if self.statuses else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@asynccontextmanager
async def serve(receiver: Receiver, path: str = "/hook") -> AsyncIterator[Receiver]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(receiver, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110  (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    receiver.url = f"http://127.0.0.1:{port}{path}"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
        sock.close()


def free_port() -> int:
    """A loopback port nothing listens on (for an unreachable target)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client_token(
    settings: Settings,
    region: str,
    scopes: set[str] | None = None,
    role: Role = Role.department,
    client_id: str = "medical-insurance",
) -> str:
    """A registered client's token (client credentials), as the registry issues it."""
    principal = Principal(
        sub=f"client:{client_id}",
        role=role,
        region_code=region,
        scopes=frozenset({Scope.webhooks_manage.value} if scopes is None else scopes),
        client_id=client_id,
    )
    return issue_token(settings, principal)
