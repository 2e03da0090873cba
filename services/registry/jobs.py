"""ARQ jobs of the registry service (registered with ``shared.jobs.task``)."""

from typing import Any
from uuid import UUID

from services.registry.imports import service as import_service
from services.registry.webhooks import hub as _webhooks_hub  # noqa: F401  (registers the hub)
from shared import jobs
from shared.webhooks import jobs as _webhook_jobs  # noqa: F401  (registers the jobs)


@jobs.task(name=import_service.JOB_NAME, timeout_s=3600, max_tries=3)
async def import_ledger(ctx: dict[str, Any], import_id: str) -> str:
    """Load an uploaded ledger file (台账导入); see ``services.registry.imports``."""
    try:
        return await import_service.run_import(
            ctx["session_maker"],
            UUID(import_id),
            final=jobs.is_last_try(ctx, import_service.JOB_NAME),
        )
    except Exception as exc:
        jobs.retry_if_transient(ctx, import_service.JOB_NAME, exc)
        raise
