"""Offline batches: one ``POST /v1/batches`` of N mixed items (default 1,000: member and
household patches, new members, a year's economics, guarantee checks) against the registry
served by uvicorn, and the p99 of single ``GET /v1/households/{id}`` idle and while the batch
runs (issue 24: the batch in < 10 s, the GETs within 2x of idle).

    .venv/bin/python -m bench.batches 2000 --items 1000 [--seconds 5]

The last line printed is one JSON object: batch_items, batch_s, applied, conflicts, rejected,
get_p99_idle_ms, get_p99_under_batch_ms, get_under_batch_to_idle."""

import argparse
import asyncio
import json
import random
import time
import uuid
from datetime import date
from typing import Any

import asyncpg
import httpx

from bench._scratch import scratch_database
from bench.registry_api import KeepAliveClient, _pct, load, registry_server
from shared import idnumber


async def _targets(settings: Any, items: int) -> list[dict[str, Any]]:
    """Households with a resident member and their versions, enough for ``items`` items."""
    conn = await asyncpg.connect(settings.asyncpg_dsn())
    try:
        await conn.execute("ANALYZE")
        rows = await conn.fetch(
            """
            SELECT h.id, h.version, h.region_code, m.id AS member_id, m.version AS member_version
              FROM registry.households h
              JOIN LATERAL (SELECT id, version FROM registry.members
                             WHERE household_id = h.id AND departed_on IS NULL
                             ORDER BY id LIMIT 1) m ON true
             ORDER BY random() LIMIT $1
            """,
            items,
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]


def _items(targets: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` mixed items, each household used once (no item conflicts with another)."""
    rng = random.Random(7)
    out: list[dict[str, Any]] = []
    for n, t in enumerate(targets[:count]):
        base = {"item_id": str(uuid.uuid4())}
        kind = n % 5
        if kind == 0:
            out.append(
                base
                | {
                    "entity": "member",
                    "op": "patch",
                    "id": str(t["member_id"]),
                    "base_version": t["member_version"],
                    "data": {"health": rng.choice(["chronic", "healthy"])},
                }
            )
        elif kind == 1:
            out.append(
                base
                | {
                    "entity": "household",
                    "op": "patch",
                    "id": str(t["id"]),
                    "base_version": t["version"],
                    "data": {"address": f"批量{n}"},
                }
            )
        elif kind == 2:
            born = date(2015, 1 + n % 12, 1 + n % 28)
            number = idnumber.make(t["region_code"][:6], born, 500 + n % 400)
            out.append(
                base
                | {
                    "entity": "member",
                    "op": "create",
                    "household_id": str(t["id"]),
                    "data": {"name": "新生儿", "id_number": number, "relation": "child"},
                }
            )
        elif kind == 3:
            out.append(
                base
                | {
                    "entity": "economics",
                    "op": "create",
                    "household_id": str(t["id"]),
                    "data": {"year": 2024, "wage": f"{rng.randint(3000, 30000)}.00"},
                }
            )
        else:
            out.append(
                base
                | {
                    "entity": "guarantees",
                    "op": "patch",
                    "household_id": str(t["id"]),
                    "data": {"drinking_water": {"ok": True, "checked_on": "2024-06-01"}},
                }
            )
    return out  # fmt: skip


async def _gets(base_url: str, token: str, ids: list[str], stop: asyncio.Event) -> list[float]:
    host, port = base_url.removeprefix("http://").split(":")
    latencies: list[float] = []
    rng = random.Random(1)
    async with KeepAliveClient(host, int(port), token) as http:
        while not stop.is_set():
            t0 = time.perf_counter()
            status, _ = await http.get(f"/v1/households/{rng.choice(ids)}")
            if status == 200:
                latencies.append(time.perf_counter() - t0)
    return latencies


async def _timed_gets(base_url: str, token: str, ids: list[str], seconds: float) -> list[float]:
    stop = asyncio.Event()
    task = asyncio.create_task(_gets(base_url, token, ids, stop))
    await asyncio.sleep(seconds)
    stop.set()
    return await task


async def run(settings: Any, households: int, items: int, seconds: float) -> dict[str, Any]:
    await load(settings, households)
    targets = await _targets(settings, items)
    batch = _items(targets, items)
    ids = [str(t["id"]) for t in targets]
    async with registry_server(settings, pool=5) as (base_url, token):
        idle = await _timed_gets(base_url, token, ids, seconds)
        stop = asyncio.Event()
        readers = asyncio.create_task(_gets(base_url, token, ids, stop))
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=300
        ) as http:
            t0 = time.perf_counter()
            response = await http.post("/v1/batches", json={"items": batch})
            batch_s = time.perf_counter() - t0
        stop.set()
        busy = await readers
    body = response.json()
    idle_p99, busy_p99 = _pct(idle, 0.99), _pct(busy, 0.99)
    return {
        "households": households,
        "batch_items": len(batch),
        "status": response.status_code,
        "batch_s": round(batch_s, 2),
        "applied": body.get("applied"),
        "conflicts": body.get("conflicts"),
        "rejected": body.get("rejected"),
        "get_p99_idle_ms": idle_p99,
        "get_p99_under_batch_ms": busy_p99,
        "gets_under_batch": len(busy),
        "get_under_batch_to_idle": round(busy_p99 / idle_p99, 2) if idle_p99 and busy_p99 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("households", type=int, nargs="?", default=2000)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5, help="idle GET measurement")
    args = parser.parse_args()
    with scratch_database("batches") as settings:
        result = asyncio.run(run(settings, args.households, args.items, args.seconds))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
