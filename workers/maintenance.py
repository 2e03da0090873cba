"""Housekeeping jobs of the shared machinery (not of any one service's domain): forgetting old
idempotency keys, relaying the job outboxes to the queue, sweeping up stuck work."""

import importlib
from datetime import timedelta
from typing import Any

from services.funds.database import IdempotencyKey as FundsKey
from services.funds.database import JobOutbox as FundsOutbox
from services.monitoring.database import IdempotencyKey as MonitoringKey
from services.monitoring.database import JobOutbox as MonitoringOutbox
from services.registry.database import IdempotencyKey as RegistryKey
from services.registry.database import JobOutbox as RegistryOutbox
from shared import idempotency, jobs, outbox
from shared.changelog import chain
from shared.db import utcnow
from shared.logging import FIELDS, SAFE
from shared.observability import job_log
from shared.repository import try_advisory_xact_lock

KEY_RETENTION = timedelta(days=2)
# Every service's jobs; their modules register the sweeps the sweeper runs.
SERVICE_JOB_MODULES = ("services.registry.jobs", "services.monitoring.jobs", "services.funds.jobs")
OUTBOXES = (RegistryOutbox, MonitoringOutbox, FundsOutbox)
RELAY = "relay_outbox"
SWEEPER = "sweep_stuck_work"
CHAIN_HEADS = "record_chain_heads"


@jobs.task(name="purge_idempotency_keys", timeout_s=120, max_tries=3)
async def purge_idempotency_keys(ctx: dict[str, Any]) -> dict[str, int]:
    """Idempotency keys answer retries for two days, then go (idempotent by nature)."""
    purged: dict[str, int] = {}
    for name, model in (
        ("registry", RegistryKey),
        ("monitoring", MonitoringKey),
        ("funds", FundsKey),
    ):
        async with jobs.unit_of_work(ctx) as session:
            purged[name] = await idempotency.purge_expired(session, model, KEY_RETENTION)
    return purged


@jobs.task(name=RELAY, timeout_s=60, max_tries=1, keep_result_s=10)
async def relay_outbox(ctx: dict[str, Any]) -> int:
    """Hand every job still in an outbox to the queue (those whose writer could not send
    them after commit: Redis was away, the process died). Runs every few seconds."""
    return await outbox.relay(ctx["session_maker"], ctx["redis"], OUTBOXES)


@jobs.task(name=SWEEPER, timeout_s=60, max_tries=1, keep_result_s=10)
async def sweep_stuck_work(ctx: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Imports and scans whose heartbeat stopped are dispatched again, or after their last
    attempt failed with the reason. One sweeper at a time across all workers (an advisory
    lock); the jobs it dispatches go through the outbox with its transaction."""
    settings = ctx["settings"]
    policy = outbox.SweepPolicy(
        stale_before=utcnow() - timedelta(seconds=settings.job_stale_s),
        max_attempts=settings.job_attempts,
    )
    for module in SERVICE_JOB_MODULES:  # the worker has them all; a direct call may not
        importlib.import_module(module)
    results: dict[str, dict[str, int]] = {}
    async with jobs.unit_of_work(ctx) as session:
        locked = await try_advisory_xact_lock(session, "povguard:sweeper")
        if not locked:
            return results
        for name, sweep in outbox.SWEEPS.items():
            results[name] = await sweep(session, policy)
    return results


@jobs.task(name=CHAIN_HEADS, timeout_s=60, max_tries=3)
async def record_chain_heads(ctx: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """Each change log's chain head (its last entry's position and hash) written to the job
    log once a day: a copy outside the database, which a rewritten chain cannot match
    (``povguard audit verify`` prints the head to compare)."""
    heads: dict[str, dict[str, Any] | None] = {}
    async with jobs.unit_of_work(ctx) as session:
        for schema in chain.SCHEMAS:
            head = await chain.head(session, schema)
            heads[schema] = head.model_dump(mode="json") if head is not None else None
            # Only numbers, a time and a hash: nothing to scrub (a hex hash may hold digits
            # that look like a phone number).
            job_log.info(
                "change log chain head %s: position %s hash %s",
                schema,
                head.position if head else None,
                head.hash if head else None,
                extra={SAFE: True, FIELDS: {"chain": schema, "head": heads[schema]}},
            )
    return heads


jobs.schedule("purge_idempotency_keys", hour={3}, minute={17})
jobs.schedule(CHAIN_HEADS, hour={0}, minute={5})
