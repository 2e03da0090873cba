"""The worker collects every service's jobs; housekeeping forgets old idempotency keys."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from services.registry.database import IdempotencyKey
from workers import maintenance
from workers.main import create_worker


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
