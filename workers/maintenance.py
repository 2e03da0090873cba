"""Housekeeping jobs of the shared machinery (not of any one service's domain)."""

from datetime import timedelta
from typing import Any

from services.funds.database import IdempotencyKey as FundsKey
from services.monitoring.database import IdempotencyKey as MonitoringKey
from services.registry.database import IdempotencyKey as RegistryKey
from shared import idempotency, jobs

KEY_RETENTION = timedelta(days=2)


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


jobs.schedule("purge_idempotency_keys", hour={3}, minute={17})
