"""The worker collects every service's jobs; housekeeping forgets old idempotency keys."""

from sqlalchemy import func, select, text

from services.registry.database import IdempotencyKey
from workers import maintenance
from workers.main import create_worker


def test_worker_registers_jobs_and_cron_with_fixed_ids(settings) -> None:
    worker = create_worker(settings)
    assert "purge_idempotency_keys" in worker.functions
    assert "cron:purge_idempotency_keys" in worker.functions


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
