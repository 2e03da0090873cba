"""ARQ jobs of the registry service (registered with ``shared.jobs.task``)."""

from typing import Any
from uuid import UUID

from services.registry.auth import jobs as auth_jobs
from services.registry.imports import service as import_service
from shared import jobs


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


__all__ = ["auth_jobs", "import_ledger"]
