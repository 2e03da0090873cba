"""ARQ jobs of the funds service (registered with ``shared.jobs.task``)."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from services.funds import webhooks as _webhooks_hub  # noqa: F401  (registers the hub)
from services.funds.compliance import service as compliance_service
from shared import jobs, outbox
from shared.webhooks import jobs as _webhook_jobs  # noqa: F401  (registers the jobs)


@jobs.task(name=compliance_service.JOB_NAME, timeout_s=180, max_tries=3)
async def compliance_scan(ctx: dict[str, Any], scan_id: str | None = None) -> dict[str, Any]:
    """The compliance scan (合规检查) of one region, or the whole province when scheduled.
    A requested scan takes its lease and beats a heartbeat, so a killed worker's scan is
    dispatched again by the sweeper, or failed with the reason after the last attempt."""
    settings = ctx["settings"]
    if scan_id is not None:
        async with jobs.unit_of_work(ctx) as session:
            claimed, state = await compliance_service.claim(
                session, UUID(scan_id), settings.job_stale_s
            )
        if not claimed:
            return {"scan_id": scan_id, "state": state}  # finished, or running elsewhere

    async def beat(session: Any) -> None:
        await compliance_service.beat(session, UUID(scan_id or ""))

    try:
        async with (
            outbox.heartbeat(ctx["session_maker"], beat, settings.job_heartbeat_s)
            if scan_id
            else _nothing(),
            jobs.unit_of_work(ctx) as session,
        ):
            scan = await compliance_service.run_scan(session, UUID(scan_id) if scan_id else None)
            result = {
                "scan_id": str(scan.id),
                "state": scan.state,
                "opened": scan.opened,
                "closed": scan.closed,
            }
    except Exception as exc:
        if scan_id is None:
            # The scheduled scan's transaction rolled back whole: the next try starts afresh.
            jobs.retry_if_transient(ctx, compliance_service.JOB_NAME, exc)
            raise
        if jobs.is_transient(exc) and not jobs.is_last_try(ctx, compliance_service.JOB_NAME):
            async with jobs.unit_of_work(ctx) as session:
                await compliance_service.release(session, UUID(scan_id))
        jobs.retry_if_transient(ctx, compliance_service.JOB_NAME, exc)
        async with jobs.unit_of_work(ctx) as session:
            await compliance_service.fail(session, UUID(scan_id), f"{type(exc).__name__}: {exc}")
        raise
    return result


@contextlib.asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


@outbox.sweep("funds.compliance_scans")
async def sweep_compliance_scans(session: Any, policy: outbox.SweepPolicy) -> dict[str, int]:
    return await compliance_service.sweep(session, policy)


jobs.schedule(compliance_service.JOB_NAME, hour={3}, minute={30}, max_tries=3)
