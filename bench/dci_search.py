"""DCI benchmark: N households (default 1,000,000) with their members, ID numbers and change log
generated in the scratch database (``bench._fastload``; the import pipeline took ~11 minutes
a million), the registry under uvicorn, and a registered client with its
Ed25519 key (the server it starts lets that client past the per-client rate limits).

    .venv/bin/python -m bench.dci_search 1000000 [--seconds 30] [--clients 10] [--changes 20]

1. ``POST /dci/registry/sync/search`` by ID number (``UIN``), each request signed, from C
   concurrent clients for S seconds: p50/p99 of the whole round trip (target p99 < 100 ms);
   an ``ERR`` answer is counted by its error code (``search_refusal_codes``), not a crash.
2. Notify latency: the client subscribes (``UPDATE`` of its region) with a local receiver as
   ``sender_uri``; K household changes are committed one by one, and the production notifier
   and sender run on the worker's five-second tick: from each change's commit to the receiver
   reading its (signed) notification (target < 60 s).

The last line printed is one JSON object."""

import argparse
import asyncio
import hashlib
import json
import os
import random
import secrets
import statistics
import sys
import time
import uuid
from typing import Any

import asyncpg
import httpx
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench._fastload import load
from bench._scratch import scratch_database
from bench.registry_api import _free_port, _pct, registry_server
from services.registry.dci import jobs as dci_jobs
from services.registry.dci import signing
from shared.db import create_engine, create_session_maker

REGION = "520000000000"


def _envelope(
    key: signing.SigningKey, client_id: str, action: str, message: dict, uri: str = ""
) -> dict:
    header = {
        "version": "1.0.0",
        "message_id": str(uuid.uuid4()),
        "message_ts": "2026-12-07T10:00:00Z",
        "action": action,
        "sender_id": client_id,
        "total_count": 1,
    }
    if uri:
        header["sender_uri"] = uri
    return {"signature": key.sign(header, message), "header": header, "message": message}


async def _client(conn: asyncpg.Connection, key: Ed25519PrivateKey) -> tuple[str, str]:
    """A registered county-level client with the key and both DCI scopes, via SQL."""
    client_id, secret = uuid.uuid4(), "pgcs_" + secrets.token_urlsafe(32)
    jwks = {"keys": [signing.public_jwk(key.public_key())]}
    await conn.execute(
        "INSERT INTO registry.clients (id, name, role, region_code, scopes, secret_hash, is_active,"
        " created_by, jwks, version) VALUES ($1, 'bench', 'county_officer', $2, $3, $4, true,"
        " 'bench', $5, 1)",
        client_id,
        REGION,
        json.dumps(["registry.search", "registry.subscribe"]),
        hashlib.sha256(secret.encode()).hexdigest(),
        json.dumps(jwks),
    )
    return str(client_id), secret


async def _search(
    base: str,
    token: str,
    key: signing.SigningKey,
    client_id: str,
    numbers: list[str],
    seconds: float,
    clients: int,
) -> dict[str, Any]:
    latencies: list[float] = []
    failures = 0
    refusals: dict[str, int] = {}  # ERR answers by error code (a rate limit, a signature...)
    stop = time.monotonic() + seconds

    async def one(http: httpx.AsyncClient) -> None:
        nonlocal failures
        while time.monotonic() < stop:
            message = {
                "transaction_id": "B",
                "search_request": [
                    {
                        "reference_id": "1",
                        "timestamp": "2026-12-07T10:00:00Z",
                        "search_criteria": {
                            "query_type": "idtype-value",
                            "query": {"type": "UIN", "value": random.choice(numbers)},
                        },
                    }
                ],
            }
            body = _envelope(key, client_id, "search", message)
            t0 = time.perf_counter()
            answer = await http.post("/dci/registry/sync/search", json=body)
            latencies.append(time.perf_counter() - t0)
            got: dict[str, Any] = answer.json().get("message") or {}
            if "search_response" not in got:
                code = (got.get("error") or {}).get("code") or f"http {answer.status_code}"
                refusals[code] = refusals.get(code, 0) + 1
                continue
            records = got["search_response"][0].get("data", {}).get("reg_records")
            failures += answer.status_code != 200 or not records

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        await asyncio.gather(*(one(http) for _ in range(clients)))
    return {
        "search_requests": len(latencies),
        "search_failures": failures,
        "search_refusals": sum(refusals.values()),
        "search_refusal_codes": refusals,
        "search_p50_ms": _pct(latencies, 0.5),
        "search_p99_ms": _pct(latencies, 0.99),
        "search_rps": round(len(latencies) / seconds, 1),
    }


async def _notify(
    settings: Any,
    base: str,
    token: str,
    key: signing.SigningKey,
    client_id: str,
    households: list[tuple[Any, str]],
    changes: int,
) -> dict[str, Any]:
    received: dict[str, float] = {}

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        for event in body["message"].get("notify_event", []):
            received[event["data"]["reg_records"]["@id"]] = time.time()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    uri = f"http://127.0.0.1:{port}/hook"
    message = {
        "transaction_id": "S",
        "subscribe_request": [
            {
                "reference_id": "1",
                "timestamp": "2026-12-07T10:00:00Z",
                "subscribe_criteria": {
                    "reg_event_type": "UPDATE",
                    "filter": [],
                    "notify_record_type": "spdci:Group",
                },
            }
        ],
    }
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        ack = (
            await http.post(
                "/dci/registry/subscribe", json=_envelope(key, client_id, "subscribe", message, uri)
            )
        ).json()
    assert ack["message"]["ack_status"] == "ACK", ack
    local = settings.model_copy(update={"webhook_allow_loopback": True})
    engine = create_engine(local, "povguard-bench-dci")
    ctx = {"settings": local, "session_maker": create_session_maker(engine), "job_try": 1}
    committed: dict[str, float] = {}
    conn = await asyncpg.connect(settings.asyncpg_dsn())

    async def worker_tick() -> None:  # the worker runs dci_tick every five seconds
        while len(received) < changes:
            await asyncio.sleep(5 - time.time() % 5)
            await dci_jobs.notify(ctx)
            await dci_jobs.deliver_due(ctx)

    ticking = asyncio.create_task(worker_tick())
    for household_id, _region in random.sample(households, changes):
        await conn.execute(
            "WITH h AS (UPDATE registry.households SET version = version + 1, updated_at = now()"
            " WHERE id = $1 RETURNING id, region_code)"
            " INSERT INTO registry.change_log (actor, actor_role, action, entity, entity_id,"
            " household_id, region_code, op, data) SELECT 'bench', 'service', 'update',"
            " 'household', id::text, id, region_code, 'update', '{}'::jsonb FROM h",
            household_id,
        )
        committed[f"urn:povguard:household:{household_id}"] = time.time()
        await asyncio.sleep(random.uniform(0.2, 1.0))
    try:
        await asyncio.wait_for(ticking, 120)
    except TimeoutError:  # reported as fewer notified than changes
        print(f"notified {len(received)} of {changes} in 120 s", file=sys.stderr)
    await conn.close()
    await runner.cleanup()
    await engine.dispose()
    delays = [received[k] - committed[k] for k in committed if k in received]
    return {
        "notified": len(delays),
        "notify_p50_s": round(statistics.median(delays), 2) if delays else None,
        "notify_max_s": round(max(delays), 2) if delays else None,
    }


async def run(
    settings: Any, households: int, seconds: float, clients: int, changes: int
) -> dict[str, Any]:
    await load(settings, households)
    private = Ed25519PrivateKey.generate()
    conn = await asyncpg.connect(settings.asyncpg_dsn())
    try:
        await conn.execute("ANALYZE")
        numbers = [
            r["id_number"]
            for r in await conn.fetch(
                "SELECT id_number FROM registry.members ORDER BY random() LIMIT 20000"
            )
        ]
        sample = [
            (r["id"], r["region_code"])
            for r in await conn.fetch(
                "SELECT id, region_code FROM registry.households ORDER BY random() LIMIT 1000"
            )
        ]
        client_id, secret = await _client(conn, private)
        # A running worker would have read the loaded history (~4.4 M entries a million
        # households) long ago: the notifier starts at the log's end, not at its start.
        await conn.execute(
            "UPDATE registry.dci_cursors SET position = (SELECT coalesce(max(position), 0)"
            " FROM registry.change_log WHERE op IS NOT NULL) WHERE name = 'notify'"
        )
    finally:
        await conn.close()
    key = signing.key_from_private(private, client_id)
    os.environ["POVGUARD_WEBHOOK_ALLOW_LOOPBACK"] = "true"  # the receiver is on this machine
    # The bench's one client sends far more than a partner may (120 a minute by default):
    # the server it starts lets it, so the figures are the search path's, not the limiter's.
    os.environ["POVGUARD_DCI_RATE_PER_MINUTE"] = "100000000"
    os.environ["POVGUARD_DCI_RATE_PER_DAY"] = "100000000"
    async with registry_server(settings, pool=clients) as (base, _):
        async with httpx.AsyncClient(base_url=base) as http:
            token = (
                await http.post(
                    "/dci/oauth2/client/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": client_id,
                        "client_secret": secret,
                    },
                )
            ).json()["access_token"]
        result = await _search(base, token, key, client_id, numbers, seconds, clients)
        print(json.dumps(result), file=sys.stderr)  # kept if the notify phase fails
        # The notifier runs here with the server's own signing secret: the bench's settings.
        result |= await _notify(settings, base, token, key, client_id, sample, changes)
    return {"households": households, "clients": clients, **result}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("households", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    with scratch_database("dci") as settings:
        result = asyncio.run(
            run(settings, args.households, args.seconds, args.clients, args.changes)
        )
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
