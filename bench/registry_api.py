"""API benchmark: N households (default 1,000,000; ~3.5 members each) loaded through the import
pipeline into a scratch database, then 20 concurrent clients against the registry served by
uvicorn on 127.0.0.1 for a fixed time.

    .venv/bin/python -m bench.registry_api 100000 [--seconds 30] [--clients 20]

Requests: ``GET /v1/households/{id}`` (85%) and ``GET /v1/households?region=&limit=50`` (15%)
as a province service account. Before that, one client reads the change feed from the start
in pages of 10,000 events with nothing else running. The last line printed is one JSON
object: get_p50_ms, get_p99_ms, list_p99_ms, rps, changes_page_10000_p50_ms/max_ms."""

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvloop

from bench._scratch import scratch_database
from povguard import demo
from services.registry.imports import jobs as import_jobs
from services.registry.imports import service as import_service
from services.registry.imports.template import ImportKind
from shared.auth import Principal, Role, issue_token
from shared.db import create_engine, create_session_maker

ROOT = Path(__file__).resolve().parents[1]
LOAD_CHUNK = 100_000  # households per generated file, to bound memory


async def load(settings, households: int) -> None:
    engine = create_engine(settings, "povguard-bench")
    session_maker = create_session_maker(engine)
    async with session_maker() as session, session.begin():
        villages = await demo.ensure_regions(session)
    loader = Principal(sub="bench", role=Role.province_admin, region_code="520000000000")
    t0 = time.perf_counter()
    for start in range(0, households, LOAD_CHUNK):
        n = min(LOAD_CHUNK, households - start)
        rows = demo.ledger_rows(villages, n, seed=start + 1)
        # distinct household numbers per file
        for row in rows:
            row[0] = f"{row[0]}-{start // LOAD_CHUNK}"
        async with session_maker() as session, session.begin():
            job = await import_service.create_import(
                session,
                loader,
                ImportKind.households,
                "bench.csv",
                demo.to_csv(ImportKind.households, rows),
                enqueue=False,
            )
        await import_jobs.run_import(session_maker, job.id)
        print(f"loaded {start + n} households in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    await engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * p))] * 1000, 1)


class KeepAliveClient:
    """One HTTP/1.1 keep-alive connection that sends prebuilt GET requests and reads the
    answer by its Content-Length: a load generator that spends tens of microseconds per
    request, so the two cores go to uvicorn and PostgreSQL rather than to the client (httpx
    spent about 1 ms of CPU per request, as much as the server)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()

    async def __aenter__(self) -> "KeepAliveClient":
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.writer.close()

    async def get(self, target: str) -> tuple[int, bytes]:
        self.writer.write(b"GET " + target.encode() + b" HTTP/1.1\r\n" + self.head)
        return await self._answer(target)

    async def send(self, method: str, target: str, body: bytes, headers: str) -> tuple[int, bytes]:
        """A request with a JSON body; ``headers`` are extra header lines, each ending CRLF."""
        self.writer.write(
            f"{method} {target} HTTP/1.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{headers}".encode()
            + self.head
            + body
        )
        return await self._answer(target)

    async def _answer(self, target: str) -> tuple[int, bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length is None:  # a chunked answer would leave the connection out of step
            raise RuntimeError(f"{target}: answer without Content-Length")
        return status, await self.reader.readexactly(length)


async def drive(base_url: str, token: str, ids: list[str], seconds: float, clients: int) -> dict:
    villages = demo.demo_villages()
    latencies: dict[str, list[float]] = {"get": [], "list": []}
    statuses: dict[str, dict[int, int]] = {k: {} for k in latencies}
    deadline = time.perf_counter() + seconds
    host, port = base_url.removeprefix("http://").split(":")

    async def client(n: int) -> None:
        rng = random.Random(n)
        async with KeepAliveClient(host, int(port), token) as http:
            while time.perf_counter() < deadline:
                if rng.random() < 0.85:
                    kind, target = "get", f"/v1/households/{rng.choice(ids)}"
                else:
                    kind, target = "list", f"/v1/households?region={rng.choice(villages)}&limit=50"
                t0 = time.perf_counter()
                status, _ = await http.get(target)
                elapsed = time.perf_counter() - t0
                statuses[kind][status] = statuses[kind].get(status, 0) + 1
                if status == 200:
                    latencies[kind].append(elapsed)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    wall = time.perf_counter() - t0
    total = sum(sum(s.values()) for s in statuses.values())
    return {
        "get_p50_ms": _pct(latencies["get"], 0.50),
        "get_p99_ms": _pct(latencies["get"], 0.99),
        "list_p99_ms": _pct(latencies["list"], 0.99),
        "rps": round(total / wall),
        "statuses": statuses,
    }


async def feed_pages(base_url: str, token: str, pages: int = 10) -> dict:
    """One client reading the feed from the start, 10,000 events a page, nothing else running."""
    timings = []
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as http:
        cursor = "0"
        for _ in range(pages):
            t0 = time.perf_counter()
            response = await http.get("/v1/changes", params={"after": cursor, "limit": 10000})
            timings.append(time.perf_counter() - t0)
            page = response.json()
            cursor = page["next_cursor"]
            if len(page["items"]) < 10000:
                break
    return {
        "changes_page_10000_p50_ms": _pct(timings, 0.5),
        "changes_page_10000_max_ms": _pct(timings, 1.0),
    }


async def _wait_until_healthy(server: Any, base_url: str, timeout_s: float = 180) -> None:
    """Until the server answers /healthz: its imports take seconds, minutes on a busy machine.
    Fails if it exits or never answers, rather than measuring a server that is not there."""
    deadline = time.perf_counter() + timeout_s
    async with httpx.AsyncClient(base_url=base_url) as probe:
        while time.perf_counter() < deadline:
            if server.returncode is not None:
                raise RuntimeError(f"the registry server exited with {server.returncode}")
            try:
                if (await probe.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the registry server did not answer within {timeout_s:.0f} s")


@contextlib.asynccontextmanager
async def registry_server(
    settings: Any, *, pool: int, workers: int = 1, secret: str | None = None
) -> AsyncIterator[tuple[str, str]]:
    """The registry under uvicorn on a free local port; yields its URL and a province service
    account's token (``secret``: the one to sign tokens with, for callers that make more)."""
    secret = secret or secrets.token_urlsafe(40)
    port = _free_port()
    env = {
        **os.environ,
        "POVGUARD_DATABASE_URL": settings.database_url,
        "POVGUARD_DATABASE_REPLICA_URL": settings.database_replica_url,
        "POVGUARD_SECRET_KEY": secret,
        "POVGUARD_DB_POOL_SIZE": str(pool),
    }
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        "services.registry.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--workers",
        str(workers),
        cwd=ROOT,
        env=env,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        await _wait_until_healthy(server, base_url)
        from shared.settings import Settings

        token = issue_token(
            Settings(secret_key=secret, database_url=settings.database_url),
            Principal(sub="bench", role=Role.service, region_code="520000000000"),
            minutes=120,
        )
        yield base_url, token
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)


async def run(settings, households: int, seconds: float, clients: int, workers: int) -> dict:
    await load(settings, households)
    conn = await asyncpg.connect(settings.asyncpg_dsn())
    try:
        await conn.execute("ANALYZE")
        ids = [
            str(r["id"])
            for r in await conn.fetch(
                "SELECT id FROM registry.households ORDER BY random() LIMIT 20000"
            )
        ]
        events = await conn.fetchval(
            "SELECT count(*) FROM registry.change_log WHERE op IS NOT NULL"
        )
    finally:
        await conn.close()
    async with registry_server(settings, pool=clients, workers=workers) as (base_url, token):
        pages = await feed_pages(base_url, token)
        result = await drive(base_url, token, ids, seconds, clients)
        result.update(pages)
    return {
        "households": households,
        "change_events": events,
        "clients": clients,
        "workers": workers,
        **result,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("households", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
    uvloop.install()  # the client's event loop costs less per request on uvloop
    with scratch_database("api") as settings:
        result = asyncio.run(
            run(settings, args.households, args.seconds, args.clients, args.workers)
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
