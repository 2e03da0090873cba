"""Mixed load: do bulk jobs starve the people editing households?

N households (default 1,000,000) are loaded into the registry (``bench._fastload``) and a
monitoring projection of as many is built, in a scratch database. Then, with the registry
served by uvicorn:

1. 20 clients alone for ``--seconds``: ``GET /v1/households/{id}`` (75%), the village list (15%)
   and ``PATCH /v1/households/{id}`` with ``If-Match`` (10%), as cadres on phones would;
2. a 100,000-household import alone, then a full monitoring scan alone (after one warm-up
   scan, so both timed scans find the same open alerts);
3. the same clients while another 100,000-household import and a full scan run together.

The bulk jobs run in their own processes on their own small connection pools, as in a worker
(``POVGUARD_BULK_DB_POOL_SIZE``), so their Python work does not share the load generator's
event loop.

    .venv/bin/python -m bench.mixed_load 1000000 [--import-households 100000] [--seconds 30]

The last line printed is one JSON object: get_p99_ms_alone/under_load,
patch_p99_ms_alone/under_load, import_s_alone/under_load, scan_s_alone/under_load and the two
slowdowns. Targets: GET p99 < 100 ms, PATCH p99 < 200 ms under load, each bulk job at most 1.5x
slower than alone.

``--replica``: the scratch database lives on a primary of the bench's own with a streaming
standby (povguard.standby, as the replica tests make them: initdb in a temporary directory, a
standby by ``pg_basebackup -R``; fsync and synchronous commit on, as on the machine's server),
the registry reads from the standby (``DATABASE_REPLICA_URL``), and each client signs in as a
cadre of its own, so a client's read waits only for its own writes."""

import argparse
import asyncio
import json
import os
import random
import secrets
import sys
import time
from typing import Any

import asyncpg
import uvloop

from bench import _fastload as fastload
from bench import monitoring_scan
from bench._scratch import scratch_database
from bench.registry_api import KeepAliveClient, _pct, registry_server
from povguard import demo, standby
from povguard.scratch import with_database
from services.registry.imports import jobs as import_jobs
from services.registry.imports import service as import_service
from services.registry.imports.template import ImportKind
from shared.auth import Principal, Role, issue_token
from shared.db import create_engine, create_session_maker
from shared.replica import create_replica
from shared.settings import Settings

PATCH_SHARE = 0.10
LIST_SHARE = 0.15


async def drive(base_url: str, tokens: list[str], ids: list[str], clients: int, until: Any) -> dict:
    """``clients`` keep-alive clients until ``until()`` is true, client ``n`` signed in with
    ``tokens[n % len(tokens)]``; latencies of 2xx answers."""
    villages = demo.demo_villages()
    latencies: dict[str, list[float]] = {"get": [], "list": [], "patch": []}
    statuses: dict[str, dict[int, int]] = {k: {} for k in latencies}
    host, port = base_url.removeprefix("http://").split(":")

    def note(kind: str, status: int, elapsed: float) -> None:
        statuses[kind][status] = statuses[kind].get(status, 0) + 1
        if 200 <= status < 300:
            latencies[kind].append(elapsed)

    async def client(n: int) -> None:
        rng = random.Random(n)
        async with KeepAliveClient(host, int(port), tokens[n % len(tokens)]) as http:
            while not until():
                roll, target = rng.random(), f"/v1/households/{rng.choice(ids)}"
                if roll < LIST_SHARE:
                    t0 = time.perf_counter()
                    status, _ = await http.get(
                        f"/v1/households?region={rng.choice(villages)}&limit=50"
                    )
                    note("list", status, time.perf_counter() - t0)
                    continue
                t0 = time.perf_counter()
                status, body = await http.get(target)
                note("get", status, time.perf_counter() - t0)
                if status != 200 or roll > LIST_SHARE + PATCH_SHARE:
                    continue
                # A cadre corrects the phone number of the household just read.
                version = json.loads(body)["version"]
                patch = json.dumps({"phone": f"139{rng.randrange(10**8):08d}"}).encode()
                t0 = time.perf_counter()
                status, _ = await http.send("PATCH", target, patch, f"If-Match: {version}\r\n")
                note("patch", status, time.perf_counter() - t0)

    await asyncio.gather(*(client(n) for n in range(clients)))
    return {
        "get_p99_ms": _pct(latencies["get"], 0.99),
        "list_p99_ms": _pct(latencies["list"], 0.99),
        "patch_p99_ms": _pct(latencies["patch"], 0.99),
        "requests": sum(sum(s.values()) for s in statuses.values()),
        "statuses": statuses,
    }


# The bulk jobs, each in its own process (``--child``).


async def _child_import(settings: Settings, households: int, seed: int) -> float:
    engine = create_engine(settings, "povguard-bench-import")
    session_maker = create_session_maker(engine)
    async with session_maker() as session, session.begin():
        villages = await demo.ensure_regions(session)
    rows = demo.ledger_rows(villages, households, seed=seed)
    for row in rows:
        row[0] = f"{row[0]}-m{seed}"  # household numbers of their own
    loader = Principal(sub="bench", role=Role.province_admin, region_code="520000000000")
    t0 = time.perf_counter()
    async with session_maker() as session, session.begin():
        job = await import_service.create_import(
            session,
            loader,
            ImportKind.households,
            "mixed.csv",
            demo.to_csv(ImportKind.households, rows),
            enqueue=False,
        )
    await import_jobs.run_import(session_maker, job.id)
    elapsed = time.perf_counter() - t0
    await engine.dispose()
    return elapsed


async def _child_scan(settings: Settings) -> float:
    engine = create_engine(settings, "povguard-bench-scan")
    replica = create_replica(settings, "bench-scan", engine)
    if replica is not None:
        await replica.check()
    _, elapsed = await monitoring_scan.full_scan(create_session_maker(engine), replica=replica)
    if replica is not None:
        await replica.stop()
    await engine.dispose()
    return elapsed


async def bulk(settings: Settings, what: str, *args: str) -> float:
    """Run one bulk job in a child process with a worker's small pool; its seconds."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.mixed_load",
        "--child",
        what,
        settings.database_url,
        settings.database_replica_url or "-",
        *args,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"{what} child exited with {child.returncode}")
    return float(out.decode().strip().splitlines()[-1])


async def run(settings: Settings, households: int, imported: int, seconds: float, clients: int):
    # The register by the fast loader (valid ID numbers, versions, history and change log as
    # an import writes them): the import pipeline would take ~11 minutes a million before
    # anything is measured, and what is measured is the import of 100,000 further households.
    await fastload.load(settings, households)
    conn = await asyncpg.connect(settings.asyncpg_dsn())
    try:
        t0 = time.perf_counter()
        await monitoring_scan.build_projection(conn, households)
        print(f"projection built in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
        await conn.execute("ANALYZE")
        ids = [
            str(r["id"])
            for r in await conn.fetch(
                "SELECT id FROM registry.households ORDER BY random() LIMIT 20000"
            )
        ]
    finally:
        await conn.close()

    warmup = await bulk(settings, "scan")
    import_alone = await bulk(settings, "import", str(imported), "1000001")
    scan_alone = await bulk(settings, "scan")
    print(
        f"alone: import {import_alone:.1f}s, scan {scan_alone:.1f}s (warm-up {warmup:.1f}s)",
        file=sys.stderr,
    )
    secret = secrets.token_urlsafe(40)
    async with registry_server(settings, pool=clients, secret=secret) as (base_url, token):
        tokens = [token]
        if settings.database_replica_url:  # a cadre each: read-your-writes is per principal
            signer = Settings(demo=True, secret_key=secret, database_url=settings.database_url)
            tokens = [
                issue_token(
                    signer,
                    Principal(sub=f"cadre-{n}", role=Role.service, region_code="520000000000"),
                    minutes=120,
                )
                for n in range(clients)
            ]
        end = time.perf_counter() + seconds
        alone = await drive(base_url, tokens, ids, clients, lambda: time.perf_counter() > end)
        jobs = [
            asyncio.create_task(bulk(settings, "import", str(imported), "2000001")),
            asyncio.create_task(bulk(settings, "scan")),
        ]
        loaded = await drive(base_url, tokens, ids, clients, lambda: all(j.done() for j in jobs))
        import_loaded, scan_loaded = [j.result() for j in jobs]
    return {
        "households": households,
        "replica": bool(settings.database_replica_url),
        "import_households": imported,
        "clients": clients,
        "get_p99_ms_alone": alone["get_p99_ms"],
        "patch_p99_ms_alone": alone["patch_p99_ms"],
        "get_p99_ms_under_load": loaded["get_p99_ms"],
        "list_p99_ms_under_load": loaded["list_p99_ms"],
        "patch_p99_ms_under_load": loaded["patch_p99_ms"],
        "import_s_alone": round(import_alone, 1),
        "import_s_under_load": round(import_loaded, 1),
        "import_slowdown": round(import_loaded / import_alone, 2),
        "scan_s_alone": round(scan_alone, 1),
        "scan_s_under_load": round(scan_loaded, 1),
        "scan_slowdown": round(scan_loaded / scan_alone, 2),
        "statuses_alone": alone["statuses"],
        "statuses_under_load": loaded["statuses"],
    }


def _child(argv: list[str]) -> None:
    what, url, replica_url, *args = argv
    settings = Settings(
        demo=True, database_url=url, database_replica_url="" if replica_url == "-" else replica_url
    )
    settings = settings.model_copy(update={"db_pool_size": settings.bulk_db_pool_size})
    if what == "import":
        elapsed = asyncio.run(_child_import(settings, int(args[0]), int(args[1])))
    else:
        elapsed = asyncio.run(_child_scan(settings))
    print(elapsed)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("households", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--import-households", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--replica", action="store_true", help="read from a streaming standby")
    args = parser.parse_args()
    uvloop.install()

    def bench(settings: Settings) -> dict:
        return asyncio.run(
            run(settings, args.households, args.import_households, args.seconds, args.clients)
        )

    if not args.replica:
        with scratch_database("mixed") as settings:
            result = bench(settings)
    else:
        # The machine's settings (fsync, synchronous commit); room for the pools.
        with standby.streaming_pair({"max_connections": "300"}) as pair:
            os.environ["POVGUARD_DATABASE_URL"] = pair.primary_url
            os.environ.pop("POVGUARD_BENCH_TEMPLATE", None)  # a database of the machine's server
            with scratch_database("mixed") as settings:
                name = settings.database_url.rsplit("/", 1)[1]
                replica_url = with_database(pair.standby_url, name)
                result = bench(settings.model_copy(update={"database_replica_url": replica_url}))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
