"""Scans (预警筛查): split per county, each county under an advisory lock, rules set-based."""

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.alerts import rules
from services.monitoring.alerts.models import Scan, ScanCounty
from services.monitoring.alerts.repository import ScanRepository
from services.monitoring.alerts.schemas import ScanCreate, ScanMode
from services.monitoring.database import audit, outbox
from services.monitoring.policy.repository import PolicyRepository
from shared import regions
from shared.auth import Principal, Role
from shared.errors import Conflict, NotFound, ValidationFailed

SCAN_ROLES = (Role.province_admin, Role.county_officer, Role.service)


def _county_scope(region_code: str, county_code: str) -> str:
    """The region one county job scans: the county, or the smaller region asked for."""
    return region_code if regions.contains(county_code, region_code) else county_code


async def create_scan(
    session: AsyncSession,
    principal: Principal,
    body: ScanCreate,
    *,
    requested_by: str | None = None,
) -> Scan:
    if not regions.is_valid_code(body.region_code):
        raise ValidationFailed.field("region_code", "must be a 12-digit region code")
    principal.ensure_covers(body.region_code, "region")
    principal.ensure_role(*SCAN_ROLES)
    repo = ScanRepository(session)
    counties = await repo.counties_to_scan(
        regions.prefix_of(body.region_code), body.mode == ScanMode.incremental
    )
    policies = PolicyRepository(session)
    missing = [c for c in counties if await policies.in_force(c, body.year) is None]
    if missing or (not counties and await policies.in_force(body.region_code, body.year) is None):
        raise Conflict(
            f"no monitoring policy for {body.year} covers "
            f"{', '.join(missing) or body.region_code}: set it first with "
            f"PUT /v1/policy/{body.year}?region=...",
            counties_without_policy=missing or [body.region_code],
        )
    scan = repo.add(
        Scan(
            region_code=body.region_code,
            year=body.year,
            mode=body.mode.value,
            requested_by=requested_by or principal.sub,
            counties_total=len(counties),
            state="queued" if counties else "done",
        )
    )
    if not counties:
        scan.finished_at = scan.started_at = datetime.now(UTC)
    await session.flush()
    for county in counties:
        since = await repo.last_done(county) if body.mode == ScanMode.incremental else None
        session.add(
            ScanCounty(
                scan_id=scan.id,
                county_code=county,
                region_code=_county_scope(body.region_code, county),
                since=since,
            )
        )
        outbox.defer(
            session, "scan_county", str(scan.id), county, job_id=f"scan:{scan.id}:{county}"
        )
    await session.flush()
    await audit.record(
        session,
        principal,
        action="scan.create",
        entity="scan",
        entity_id=scan.id,
        region_code=body.region_code,
        new={"year": body.year, "mode": body.mode, "counties": counties},
    )
    return scan


class CountyBusy(Exception):
    """Another worker is scanning this county right now."""


async def scan_county(session: AsyncSession, scan_id: UUID, county_code: str) -> ScanCounty | None:
    """Run every enabled rule for one county of a scan, in the caller's transaction, and close
    the open alerts of the rules switched off. Idempotent: a county already done is skipped;
    a killed run rolled back entirely."""
    repo = ScanRepository(session)
    part = await repo.county(scan_id, county_code)
    if part is None or part.state == "done":
        return part
    if not await repo.try_county_lock(county_code):
        raise CountyBusy(county_code)
    scan = await repo.get(scan_id)
    assert scan is not None
    part.started_at = datetime.now(UTC)
    policy = await PolicyRepository(session).in_force(part.region_code, scan.year)
    examined = raised = closed = 0
    if policy is None:
        part.note = f"no monitoring policy for {scan.year}"
    else:
        params = rules.parameters(policy, regions.prefix_of(part.region_code), part.since, scan.id)
        examined = await rules.households_in_scope(session, params)
        for name in rules.enabled(policy):
            outcome = await rules.run_rule(session, name, params)
            raised += outcome.raised
            closed += outcome.closed
        closed += await rules.close_disabled(session, rules.disabled(policy), params)
    part.state = "done"
    part.households_examined, part.alerts_raised, part.alerts_closed = examined, raised, closed
    part.finished_at = datetime.now(UTC)
    await session.flush()
    await repo.add_county_result(scan_id, examined, raised, closed)
    return part


async def fail_county(session: AsyncSession, scan_id: UUID, county_code: str, reason: str) -> None:
    """Record that a county's share of a scan failed for good; the scan is then ``failed``
    (its other counties still finish, and a new scan re-runs the county without duplicates)."""
    repo = ScanRepository(session)
    part = await repo.county(scan_id, county_code)
    if part is None or part.state == "done":
        return
    part.state = "failed"
    part.note = reason[:300]
    part.finished_at = datetime.now(UTC)
    await session.flush()
    await repo.mark_failed(scan_id, f"county {county_code}: {reason}"[:500])


async def get_scan(
    session: AsyncSession, principal: Principal, scan_id: UUID
) -> tuple[Scan, list[ScanCounty]]:
    repo = ScanRepository(session)
    scan = await repo.get(scan_id)
    if scan is None or not principal.covers(scan.region_code):
        raise NotFound("scan not found")
    await session.refresh(scan)
    return scan, await repo.counties_of(scan_id)
