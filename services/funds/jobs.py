"""ARQ jobs of the funds service (registered with ``shared.jobs.task``)."""

from typing import Any
from uuid import UUID

from services.funds.compliance import service as compliance_service
from services.funds.webhooks import hub as _webhooks_hub  # noqa: F401  (registers the hub)
from shared.jobs import schedule, task, unit_of_work
from shared.webhooks import jobs as _webhook_jobs  # noqa: F401  (registers the jobs)


@task(name=compliance_service.JOB_NAME, timeout_s=1800, max_tries=3)
async def compliance_scan(ctx: dict[str, Any], scan_id: str | None = None) -> dict[str, Any]:
    """The compliance scan (合规检查) of one region, or the whole province when scheduled."""
    async with unit_of_work(ctx) as session:
        scan = await compliance_service.run_scan(session, UUID(scan_id) if scan_id else None)
        return {
            "scan_id": str(scan.id),
            "state": scan.state,
            "opened": scan.opened,
            "closed": scan.closed,
        }


schedule(compliance_service.JOB_NAME, hour={3}, minute={30})
