"""Scan jobs: one per scan and county; the nightly full and the frequent incremental scans."""

from typing import Any
from uuid import UUID

from services.monitoring.alerts import service as scan_service
from services.monitoring.alerts.repository import ScanRepository
from services.monitoring.alerts.schemas import ScanCreate, ScanMode
from shared import clock, jobs, outbox
from shared.auth import Principal, Role
from shared.replica import snapshot as replica_snapshot


@jobs.task(timeout_s=180, max_tries=10)
async def scan_county(ctx: dict[str, Any], scan_id: str, county_code: str) -> dict[str, int]:
    """One county's share of a scan. It takes the county's lease and beats a heartbeat while
    its single transaction runs, so a killed worker's county is dispatched again by the
    sweeper (and after the last attempt failed with the reason) instead of staying put."""
    settings = ctx["settings"]
    async with jobs.unit_of_work(ctx) as session:
        claimed = await scan_service.claim_county(
            session, UUID(scan_id), county_code, settings.job_stale_s
        )
    if not claimed:
        return {}  # finished, or another copy of this job is running it

    async def beat(session: Any) -> None:
        await scan_service.beat_county(session, UUID(scan_id), county_code)

    try:
        async with (
            outbox.heartbeat(ctx["session_maker"], beat, settings.job_heartbeat_s),
            jobs.unit_of_work(ctx, bulk=True) as session,  # the county's one long statement
            # The rules' matches from the read replica when there is one (the primary writes).
            replica_snapshot(ctx.get("replica")) as reader,
        ):
            part = await scan_service.scan_county(session, UUID(scan_id), county_code, reader)
    except scan_service.CountyBusy:
        await _release(ctx, scan_id, county_code)
        raise jobs.retry_later(ctx.get("job_try", 1), base_s=10) from None
    except Exception as exc:
        if jobs.is_transient(exc) and not jobs.is_last_try(ctx, "scan_county"):
            await _release(ctx, scan_id, county_code)
        jobs.retry_if_transient(ctx, "scan_county", exc)
        # Failed for good: say so on the scan instead of leaving it "running" forever.
        async with jobs.unit_of_work(ctx) as session:
            await scan_service.fail_county(
                session, UUID(scan_id), county_code, f"{type(exc).__name__}: {exc}"
            )
        raise
    if part is None:
        return {}
    return {
        "households_examined": part.households_examined,
        "alerts_raised": part.alerts_raised,
        "alerts_closed": part.alerts_closed,
    }


async def _release(ctx: dict[str, Any], scan_id: str, county_code: str) -> None:
    async with jobs.unit_of_work(ctx) as session:
        await scan_service.release_county(session, UUID(scan_id), county_code)


@outbox.sweep("monitoring.scans")
async def sweep_scans(session: Any, policy: outbox.SweepPolicy) -> dict[str, int]:
    return await scan_service.sweep(session, policy)


_SCHEDULER = "monitoring-scheduler"  # acts as the service, in each province it scans


async def _scheduled(ctx: dict[str, Any], mode: ScanMode) -> list[str]:
    """A scan per province in the projection, for the latest policy year not in the future."""
    started: list[str] = []
    async with jobs.unit_of_work(ctx) as session:
        repo = ScanRepository(session)
        provinces = await repo.provinces_to_scan(clock.today().year)
        for province, year in provinces:
            if mode == ScanMode.incremental and not await repo.counties_to_scan(
                province, incremental=True
            ):
                continue  # nothing changed: no empty scan every ten minutes
            principal = Principal(
                sub=_SCHEDULER, role=Role.service, region_code=province.ljust(12, "0")
            )
            scan = await scan_service.create_scan(
                session,
                principal,
                ScanCreate(region_code=province.ljust(12, "0"), year=year, mode=mode),
            )
            started.append(str(scan.id))
    return started


@jobs.task(timeout_s=120, max_tries=3)
async def nightly_full_scan(ctx: dict[str, Any]) -> list[str]:
    return await _scheduled(ctx, ScanMode.full)


@jobs.task(timeout_s=120, max_tries=3)
async def incremental_scan(ctx: dict[str, Any]) -> list[str]:
    return await _scheduled(ctx, ScanMode.incremental)


jobs.schedule("nightly_full_scan", hour={2}, minute={0})
jobs.schedule("incremental_scan", minute={5, 15, 25, 35, 45, 55})
