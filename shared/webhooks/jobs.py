"""The webhook jobs: the dispatcher (one pass at a time per service), one delivery run per
subscription at a time, and a sweep that catches whatever a lost kick left behind.

Kicks are coalesced in Redis rather than by ARQ job ids (a job id is refused while a job of
that id runs, which could drop a kick sent just after the run's last look): a kick raises a
``dirty`` flag and takes the run's lease if free; the lease holder keeps working while the
flag is up, and looks at it once more after letting the lease go."""

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import aiohttp

from shared import jobs
from shared.db import utcnow
from shared.settings import Settings
from shared.webhooks import delivery, owners, service
from shared.webhooks.hub import HUBS, Hub
from shared.webhooks.repository import WebhookRepository

log = logging.getLogger("povguard.webhooks")

LEASE_S = 60
DIRTY_TTL_S = 3600
RUN_BUDGET_S = 30.0  # then a delivery run yields its worker slot and queues itself again
SWEEP_SECONDS = set(range(0, 60, 10))
PURGE_BATCH = 10_000

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def _key(ctx: dict[str, Any], *parts: str) -> str:
    settings: Settings = ctx["settings"]
    return ":".join([settings.queue_name, *parts])


async def _coalesced(ctx: dict[str, Any], key: str, work: Callable[[], Awaitable[bool]]) -> None:
    """Run ``work`` while kicks keep coming, one holder at a time. ``work`` returns False to
    stop early (its budget spent; it has arranged to be run again)."""
    redis = ctx["redis"]
    dirty, lease = f"{key}:dirty", f"{key}:lease"
    await redis.set(dirty, 1, ex=DIRTY_TTL_S)
    while True:
        token = uuid.uuid4().hex
        if not await redis.set(lease, token, nx=True, ex=LEASE_S):
            return  # the holder will see the flag
        try:
            while await redis.getdel(dirty):
                await redis.expire(lease, LEASE_S)
                if not await work():
                    return
        finally:
            await redis.eval(_RELEASE, 1, lease, token)
        if not await redis.exists(dirty):
            return


def _hub(service_name: str) -> Hub:
    return HUBS[service_name]


@jobs.task(name=service.DISPATCH_JOB, timeout_s=170, max_tries=3, keep_result_s=0, routine=True)
async def webhooks_dispatch(ctx: dict[str, Any], service_name: str) -> None:
    """Fan the service's committed events out into deliveries (see ``service.dispatch_pass``)."""
    hub = _hub(service_name)

    async def work() -> bool:
        # Owners first, in a transaction of its own: the pass's horizon must be read before
        # its transaction writes anything (see ``WebhookRepository.horizon``).
        async with jobs.unit_of_work(ctx) as session:
            await owners.enforce(session, hub, ctx.get("redis"), ctx["settings"])
        while True:
            t0 = time.perf_counter()
            async with jobs.unit_of_work(ctx) as session:
                read, waiting, fed = await service.dispatch_pass(session, hub, ctx["settings"])
                if waiting:
                    # A transaction older than the page's events is still open: when it ends
                    # (it may have written nothing to kick us with), look again.
                    service.kick(session, service_name)
            log.debug(
                "dispatch %s: %d events in %.0f ms",
                service_name,
                read,
                (time.perf_counter() - t0) * 1000,
            )
            await _nudge(ctx, hub, fed)
            if read < service.PAGE:
                return True

    try:
        await _coalesced(ctx, _key(ctx, hub.redis_key, "dispatch"), work)
    except Exception as exc:
        jobs.retry_if_transient(ctx, service.DISPATCH_JOB, exc)
        raise


async def _nudge(ctx: dict[str, Any], hub: Hub, subscriptions: list[UUID]) -> None:
    """Committed deliveries for these subscriptions: raise each one's flag, and queue a run
    only where none holds the lease (a running one sees the flag; see ``_coalesced``). A busy
    subscription costs no job per pass."""
    if not subscriptions:
        return
    redis = ctx["redis"]
    keys = [_key(ctx, hub.redis_key, "deliver", str(s)) for s in subscriptions]
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.set(f"{key}:dirty", 1, ex=DIRTY_TTL_S)
            pipe.exists(f"{key}:lease")
        answers = await pipe.execute()
    for subscription_id, held in zip(subscriptions, answers[1::2], strict=True):
        if not held:
            # Straight to the queue: this runs after the pass's commit, outside any transaction.
            await jobs.enqueue(redis, service.DELIVER_JOB, hub.service, str(subscription_id))


async def startup(ctx: dict[str, Any]) -> None:
    """The worker's delivery client, shared by its jobs (ARQ hands each job a copy of this
    context, so it must be made here, not on first use)."""
    ctx["webhooks_http"] = delivery.client(ctx["settings"])


def _client(ctx: dict[str, Any]) -> aiohttp.ClientSession:
    client = ctx.get("webhooks_http")
    if client is None:  # a job called directly (tests): its own, closed by ``close``
        client = ctx["webhooks_http"] = delivery.client(ctx["settings"])
    return client


async def close(ctx: dict[str, Any]) -> None:
    client = ctx.pop("webhooks_http", None)
    if client is not None:
        await client.close()


@jobs.task(name=service.DELIVER_JOB, timeout_s=170, max_tries=3, keep_result_s=0)
async def webhooks_deliver(ctx: dict[str, Any], service_name: str, subscription_id: str) -> None:
    """POST one subscription's due deliveries; only one such run per subscription at a time,
    so a slow partner occupies one worker slot (for at most ``RUN_BUDGET_S``), never more."""
    hub, sub_id = _hub(service_name), UUID(subscription_id)
    settings: Settings = ctx["settings"]
    started = time.monotonic()

    async def work() -> bool:
        while True:
            t0 = time.perf_counter()
            async with jobs.unit_of_work(ctx) as session:
                # The owner as it stands now: revoked, nothing is claimed; narrowed, what was
                # prepared for its old rights is dropped.
                await owners.enforce(session, hub, ctx.get("redis"), settings, sub_id)
                subscription, claimed = await service.claim(session, hub, sub_id)
            if not claimed:
                return True
            t1 = time.perf_counter()
            attempts = await service.send_all(_client(ctx), settings, subscription, claimed)
            t2 = time.perf_counter()
            async with jobs.unit_of_work(ctx) as session:
                await service.record(session, hub, settings, subscription, claimed, attempts)
                if time.monotonic() - started > RUN_BUDGET_S:
                    service.kick_delivery(session, hub, sub_id)
            log.debug(
                "subscription %s: %d claimed in %.0f ms, sent in %.0f ms, recorded in %.0f ms",
                sub_id,
                len(claimed),
                (t1 - t0) * 1000,
                (t2 - t1) * 1000,
                (time.perf_counter() - t2) * 1000,
            )
            if time.monotonic() - started > RUN_BUDGET_S:
                return False

    try:
        await _coalesced(ctx, _key(ctx, hub.redis_key, "deliver", subscription_id), work)
    except Exception as exc:
        jobs.retry_if_transient(ctx, service.DELIVER_JOB, exc)
        raise


@jobs.task(name="webhooks_sweep", timeout_s=60, max_tries=1, keep_result_s=0, routine=True)
async def webhooks_sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Every ten seconds: a dispatcher pass per service (an event whose kick was lost waits
    at most this long) and a delivery run for every subscription with a retry due."""
    due: dict[str, int] = {}
    for hub in HUBS.values():
        async with jobs.unit_of_work(ctx) as session:
            service.kick(session, hub.service)
            subscriptions = await WebhookRepository(session, hub).due_subscriptions()
            for subscription_id in subscriptions:
                service.kick_delivery(session, hub, subscription_id)
        due[hub.service] = len(subscriptions)
    return due


@jobs.task(name="webhooks_purge", timeout_s=170, max_tries=3)
async def webhooks_purge(ctx: dict[str, Any]) -> dict[str, int]:
    """Forget finished deliveries after ``webhook_retention_days`` (idempotent)."""
    settings: Settings = ctx["settings"]
    before = utcnow() - timedelta(days=settings.webhook_retention_days)
    purged: dict[str, int] = {}
    for hub in HUBS.values():
        purged[hub.service] = 0
        while True:
            async with jobs.unit_of_work(ctx) as session:
                n = await WebhookRepository(session, hub).purge(before, PURGE_BATCH)
            purged[hub.service] += n
            if n < PURGE_BATCH:
                break
    return purged


jobs.schedule("webhooks_sweep", second=SWEEP_SECONDS)
jobs.schedule("webhooks_purge", minute={41})
