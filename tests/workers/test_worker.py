"""The worker collects every service's jobs; housekeeping forgets old idempotency keys."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.registry.database import IdempotencyKey
from shared import jobs
from workers import maintenance
from workers.main import create_worker, open_databases


def test_worker_registers_jobs_and_cron_with_fixed_ids(settings) -> None:
    worker = create_worker(settings)
    assert "purge_idempotency_keys" in worker.functions
    assert "cron:purge_idempotency_keys" in worker.functions


async def _tick(worker, name: str, at: datetime) -> None:
    (cron_job,) = [c for c in worker.cron_jobs if c.name == name]
    cron_job.next_run = at
    await worker.run_cron(datetime.now(UTC), delay=0.5)


async def test_every_cron_tick_is_enqueued_once_however_many_workers(settings, queue) -> None:
    name = "cron:follow_registry_changes"
    first, second = (create_worker(settings, redis_pool=queue) for _ in range(2))
    await queue.delete(settings.queue_name)
    tick = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    # Two workers see the same tick: one job.
    await _tick(first, name, tick)
    await _tick(second, name, tick)
    assert len([j for j in await queue.queued_jobs() if j.function == name]) == 1
    # The next tick is its own job, even while the last one is still queued or kept.
    await _tick(first, name, tick + timedelta(seconds=30))
    assert len([j for j in await queue.queued_jobs() if j.function == name]) == 2
    await queue.delete(settings.queue_name)


async def test_old_idempotency_keys_are_purged_and_fresh_ones_kept(job_ctx, session) -> None:
    session.add_all(
        [
            IdempotencyKey(scope="a", key="old", request_hash="x", status_code=201, response={}),
            IdempotencyKey(scope="a", key="new", request_hash="x", status_code=201, response={}),
        ]
    )
    await session.flush()
    await session.execute(
        text(
            "UPDATE registry.idempotency_keys SET created_at = now() - interval '3 days' WHERE key = 'old'"
        )
    )
    await session.commit()
    purged = await maintenance.purge_idempotency_keys(job_ctx)
    assert purged["registry"] == 1
    left = await session.scalar(select(func.count()).select_from(IdempotencyKey))
    assert left == 1


async def test_bulk_jobs_queue_for_their_own_small_pool_while_other_jobs_go_on(settings) -> None:
    ctx: dict = {"settings": settings.model_copy(update={"bulk_db_pool_size": 1})}
    open_databases(ctx)
    try:
        # An import and a county scan hold every bulk connection (the pool and its overflow).
        held = [await ctx["bulk_engine"].connect() for _ in range(2)]
        async with jobs.unit_of_work(ctx) as session:  # a short job is not kept waiting
            assert (await session.execute(text("SELECT 1"))).scalar() == 1

        async def third_bulk_job() -> None:
            async with jobs.unit_of_work(ctx, bulk=True) as session:
                await session.execute(text("SELECT 1"))

        with pytest.raises(TimeoutError):  # ... but a third bulk job waits its turn
            await asyncio.wait_for(third_bulk_job(), timeout=1)
        await held.pop().close()
        await asyncio.wait_for(third_bulk_job(), timeout=5)  # and runs once one is free
        # A bulk job that waited out the pool's timeout is retried later, not failed for good.
        assert jobs.is_transient(PoolTimeout("QueuePool limit of size 1 overflow 1 reached"))
        for connection in held:
            await connection.close()
    finally:
        await ctx["engine"].dispose()
        await ctx["bulk_engine"].dispose()
