"""ARQ jobs of the registry service (registered with ``shared.jobs.task``)."""

from typing import Any
from uuid import UUID

from services.registry.auth import jobs as auth_jobs
from services.registry.imports import service as import_service
from services.registry.webhooks import hub as _webhooks_hub  # noqa: F401  (registers the hub)
from shared import jobs, outbox
from shared.webhooks import jobs as _webhook_jobs  # noqa: F401  (registers the jobs)


@jobs.task(name=import_service.JOB_NAME, timeout_s=180, max_tries=3)
async def import_ledger(ctx: dict[str, Any], import_id: str) -> str:
    """Load an uploaded ledger file (台账导入); see ``services.registry.imports``. A run loads
    chunks for at most ``import_budget_s`` and hands the rest to the next job, so its timeout
    (and ARQ's in-progress expiry after a killed worker) stays short."""
    settings = ctx["settings"]
    try:
        return await import_service.run_import(
            jobs.bulk_session_maker(ctx),
            UUID(import_id),
            chunk_rows=settings.import_chunk_rows,
            final=jobs.is_last_try(ctx, import_service.JOB_NAME),
            budget_s=settings.import_budget_s,
            heartbeat_s=settings.job_heartbeat_s,
            stale_s=settings.job_stale_s,
            # The heartbeat is short work: never queued behind the bulk pool's long statements.
            beat_session_maker=ctx["session_maker"],
        )
    except Exception as exc:
        jobs.retry_if_transient(ctx, import_service.JOB_NAME, exc)
        raise


@outbox.sweep("registry.imports")
async def sweep_imports(session: Any, policy: outbox.SweepPolicy) -> dict[str, int]:
    return await import_service.sweep(session, policy)


__all__ = ["auth_jobs", "import_ledger", "sweep_imports"]
