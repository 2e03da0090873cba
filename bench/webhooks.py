"""Webhook delivery benchmark: registry changes committed at a steady rate, fanned out by
the webhook dispatcher to S subscriptions and delivered by W ARQ worker processes (the
production ``webhooks_*`` jobs) to a local receiver on 127.0.0.1 that answers at once.

    .venv/bin/python -m bench.webhooks --rate 1000 --seconds 20 --subscriptions 4 --workers 2

Needs Redis (``POVGUARD_REDIS_URL``) and PostgreSQL (``POVGUARD_DATABASE_URL``, else an
embedded one) and builds a scratch database. Each tick (every 50 ms) one transaction writes
the tick's change events and, after its commit, kicks the dispatcher as every registry write
does. The delay of a delivery runs from its event's commit to the receiver reading the
request. The last line printed is one JSON object: deliveries, deliveries_per_s (delivered
over the span from the first commit to the last delivery), delay_p50_ms, delay_p99_ms,
delay_max_ms. Target: 1,000 deliveries/s with p99 under 2 s."""

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from arq.worker import Worker
from sqlalchemy import text

from bench._scratch import scratch_database
from services.registry.webhooks import HUB
from shared import jobs
from shared.auth import Principal, Role
from shared.db import create_engine, create_session_maker
from shared.settings import Settings
from shared.webhooks import service as webhook_service
from shared.webhooks.schemas import WebhookCreate

TICK_S = 0.05
PROVINCE = "520000000000"

WRITE = text(
    """
    INSERT INTO registry.change_log (actor, actor_role, action, entity, entity_id, household_id,
                                     region_code, op, data)
    SELECT 'bench', 'service', 'update', 'household', gen_random_uuid()::text, gen_random_uuid(), '522301100001', 'update',
           jsonb_build_object('household_no', 'B' || i, 'category', 'monitored',
                              'address', '丰都村一组', 'version', 2)
      FROM generate_series(1, :n) i
    RETURNING seq
    """
)


# -- the receiver: a bare HTTP/1.1 server in its own process, answering 204 at once ---------


def _receiver(port_out: Any, stop: Any, out_path: str) -> None:
    seen: list[str] = []

    class Conn(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport, self.buf = transport, b""

        def data_received(self, data: bytes) -> None:
            self.buf += data
            while True:
                head_end = self.buf.find(b"\r\n\r\n")
                if head_end < 0:
                    return
                head = self.buf[:head_end].decode("latin-1").lower()
                length = 0
                msg_id = ""
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name == "content-length":
                        length = int(value)
                    elif name == "webhook-id":
                        msg_id = value.strip()
                end = head_end + 4 + length
                if len(self.buf) < end:
                    return
                self.buf = self.buf[end:]
                seen.append(f"{msg_id} {time.time():.6f}")
                self.transport.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Conn, "127.0.0.1", 0, backlog=1024)
        port_out.send(server.sockets[0].getsockname()[1])
        while not stop.is_set():  # noqa: ASYNC110  (a process's event, not the loop's)
            await asyncio.sleep(0.1)
        server.close()

    asyncio.run(main())
    Path(out_path).write_text("\n".join(seen))


# -- workers: the production webhook jobs, as ``povguard worker`` runs them -----------------


def _worker(settings_json: str, ready: Any) -> None:
    from workers.main import functions, load_jobs, shutdown, startup

    if os.environ.get("BENCH_VERBOSE"):
        import logging

        logging.basicConfig(level=logging.INFO, format="%(created).3f %(message)s")
        logging.getLogger("povguard.webhooks").setLevel(logging.DEBUG)
    settings = Settings.model_validate_json(settings_json)
    load_jobs()

    async def started(ctx: dict[str, Any]) -> None:
        await startup(ctx)
        ready.set()

    worker = Worker(
        functions=[f for f in functions() if f.name.startswith("webhooks_")],
        redis_settings=jobs.redis_settings(settings),
        queue_name=settings.queue_name,
        on_startup=started,
        on_shutdown=shutdown,
        ctx={"settings": settings},
        max_jobs=10,
        poll_delay=0.1,  # as workers.main
        handle_signals=True,
        **jobs.SERIALIZERS,  # jobs are JSON, as in workers.main
    )
    worker.run()


def _first_receipts(path: str) -> dict[str, float]:
    """When the receiver first read each ``webhook-id``."""
    first: dict[str, float] = {}
    for line in Path(path).read_text().splitlines():
        msg_id, at = line.split()
        first.setdefault(msg_id, float(at))
    os.unlink(path)
    return first


# -- the run ---------------------------------------------------------------------------------


async def run(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    engine = create_engine(settings, "bench-webhooks")
    session_maker = create_session_maker(engine)
    queue = await jobs.create_queue(settings)
    ctx = multiprocessing.get_context("spawn")
    port_in, port_out = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    out_path = tempfile.mktemp(prefix="povguard-webhooks-", suffix=".txt")
    receiver = ctx.Process(target=_receiver, args=(port_out, stop, out_path))
    receiver.start()
    port = port_in.recv()
    ready = [ctx.Event() for _ in range(args.workers)]
    workers = [ctx.Process(target=_worker, args=(settings.model_dump_json(), r)) for r in ready]
    for w in workers:
        w.start()
    try:
        admin = Principal(sub="bench", role=Role.province_admin, region_code=PROVINCE)
        for i in range(args.subscriptions):
            async with session_maker() as session, session.begin():
                await webhook_service.subscribe(
                    session,
                    HUB,
                    settings,
                    admin,
                    WebhookCreate(url=f"http://127.0.0.1:{port}/hook/{i}", events=["*"]),
                )
        # The workers take a while to import (their events are other processes').
        while not all(r.is_set() for r in ready):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)  # and to poll the queue
        per_tick_events = args.rate * TICK_S / args.subscriptions
        committed: dict[int, float] = {}
        started = time.time()
        owed = 0.0
        ticks = int(args.seconds / TICK_S)
        for tick in range(ticks):
            owed += per_tick_events
            n = int(owed)
            owed -= n
            if n:
                async with session_maker() as session:
                    async with session.begin():
                        seqs = (await session.execute(WRITE, {"n": n})).scalars().all()
                        webhook_service.kick(session, HUB.service)
                    at = time.time()
                    await jobs.flush_deferred(session, queue)
                committed.update(dict.fromkeys(seqs, at))
            sleep = started + (tick + 1) * TICK_S - time.time()
            if sleep > 0:
                await asyncio.sleep(sleep)
        expected = len(committed) * args.subscriptions
        deadline = time.time() + 120
        while time.time() < deadline:
            async with session_maker() as session:
                done = (
                    await session.execute(
                        text(
                            "SELECT count(*) FROM registry.webhook_deliveries "
                            "WHERE status = 'succeeded'"
                        )
                    )
                ).scalar_one()
            if done >= expected:
                break
            await asyncio.sleep(0.5)
        async with session_maker() as session:
            refs = {
                r.id: int(r.event_ref)
                for r in await session.execute(
                    text("SELECT id, event_ref FROM registry.webhook_deliveries")
                )
            }
    finally:
        stop.set()
        receiver.join(30)
        for w in workers:
            w.terminate()  # SIGTERM: the worker finishes what it runs and stops
        for w in workers:
            w.join(30)
        await queue.aclose()
        await engine.dispose()
    first = _first_receipts(out_path)
    delays = []
    for delivery_id, seq in refs.items():
        received = first.get(f"msg_{UUID(str(delivery_id)).hex}")
        if received is not None and seq in committed:
            delays.append((received - committed[seq]) * 1000)
    delays.sort()
    last = max(first.values()) if first else started
    return {
        "events": len(committed),
        "subscriptions": args.subscriptions,
        "workers": args.workers,
        "deliveries": len(delays),
        "expected": len(committed) * args.subscriptions,
        "offered_per_s": args.rate,
        "deliveries_per_s": round(len(delays) / max(1e-9, last - started), 1),
        "delay_p50_ms": round(statistics.median(delays), 1) if delays else None,
        "delay_p99_ms": round(delays[int(len(delays) * 0.99) - 1], 1) if delays else None,
        "delay_max_ms": round(delays[-1], 1) if delays else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=1000, help="deliveries per second offered")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--subscriptions", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with scratch_database("webhooks") as base:
        settings = base.model_copy(
            update={
                "redis_url": os.environ.get("POVGUARD_REDIS_URL", base.redis_url),
                "queue_name": f"povguard:bench-webhooks:{os.getpid()}",
                "webhook_allow_loopback": True,
                "db_pool_size": 5,
            }
        )
        result = asyncio.run(run(settings, args))
    print(json.dumps(result), file=sys.stdout)


if __name__ == "__main__":
    main()
