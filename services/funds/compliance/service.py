"""The compliance scan (合规检查): idle funds, stalled projects, missing notices, idle assets,
undistributed income and the industry share of central linking funds. Run daily by the
worker and on demand; rules are set-based SQL (``compliance.repository.RULES``) with their
figures from the funds policy in force per county and year."""

from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.compliance import repository as compliance_repository
from services.funds.compliance.models import ComplianceScan, Finding
from services.funds.compliance.repository import FindingRepository, ScanRepository
from services.funds.compliance.schemas import ScanCreate, ScanRead
from services.funds.database import outbox
from shared import clock, regions
from shared import outbox as outbox_module
from shared.auth import Principal, Role
from shared.db import ordered_uuid, utcnow
from shared.errors import NotFound, ValidationFailed
from shared.i18n import t
from shared.repository import Audit
from shared.settings import province_code

JOB_NAME = "funds_compliance_scan"
SCANNERS = (Role.province_admin, Role.county_officer, Role.service)


async def request_scan(session: AsyncSession, principal: Principal, body: ScanCreate) -> ScanRead:
    principal.ensure_role(*SCANNERS)
    region = body.region_code or principal.region_code
    if not regions.is_valid_code(region):
        raise ValidationFailed.field(
            "region_code", t("must be a 12-digit region code", "region.invalid")
        )
    principal.ensure_covers(region, "region")
    scan = await ScanRepository(session).create(
        ComplianceScan(region_code=region, state="queued", requested_by=principal.sub),
        audit=Audit(principal, "scan"),
    )
    outbox.defer(session, JOB_NAME, str(scan.id), job_id=f"{JOB_NAME}:{scan.id}")
    return ScanRead.model_validate(scan)


async def get_scan(session: AsyncSession, principal: Principal, scan_id: UUID) -> ScanRead:
    return ScanRead.model_validate(await ScanRepository(session).get_visible(scan_id, principal))


async def run_scan(session: AsyncSession, scan_id: UUID | None) -> ComplianceScan:
    """Run one scan (idempotent: a finished scan is not run again; rerunning the rules only
    refreshes the same open findings)."""
    repo = ScanRepository(session)
    if scan_id is None:
        scan = await repo.create(
            ComplianceScan(region_code=province_code(), state="queued", requested_by="schedule")
        )
    else:
        found = await repo.get(scan_id, for_update=True)
        if found is None:
            raise NotFound(t("scan {scan_id} not found", "scan.not_found", scan_id=scan_id))
        scan = found
        if scan.state in ("done", "skipped", "failed"):
            return scan
    prefix = regions.prefix_of(scan.region_code)
    if not await compliance_repository.try_lock(session):
        scan.state, scan.finished_at = "skipped", utcnow()
        return scan
    scan.opened, scan.closed = await compliance_repository.apply_scan(
        session, prefix, scan.id, clock.today().year
    )
    scan.state, scan.finished_at = "done", utcnow()
    await repo.flush()
    return scan


async def claim(session: AsyncSession, scan_id: UUID, stale_s: float) -> tuple[bool, str]:
    """Take the scan's lease for this job: (taken, the scan's state). Not taken when the
    scan is finished or another copy of the job holds a fresh lease."""
    scan = await ScanRepository(session).get(scan_id, for_update=True)
    if scan is None:
        return False, "missing"
    if scan.state not in ("queued", "running"):
        return False, scan.state
    if scan.state == "running" and scan.heartbeat_at > utcnow() - timedelta(seconds=stale_s):
        return False, scan.state
    # Taking over from a worker that stopped counts as an attempt.
    await compliance_repository.set_lease(
        session, scan_id, "running", count_attempt=scan.state == "running"
    )
    return True, "running"


async def release(session: AsyncSession, scan_id: UUID) -> None:
    await compliance_repository.set_lease(session, scan_id, "queued")


async def beat(session: AsyncSession, scan_id: UUID) -> None:
    await compliance_repository.beat(session, scan_id)


async def fail(session: AsyncSession, scan_id: UUID, reason: str) -> None:
    await compliance_repository.fail(session, scan_id, reason)


async def sweep(session: AsyncSession, policy: outbox_module.SweepPolicy) -> dict[str, int]:
    """Compliance scans without a heartbeat since ``policy.stale_before``: dispatched again
    (a running one as a new attempt), or after the last attempt failed with the reason."""
    counts = {"redispatched": 0, "failed": 0}
    for scan in await compliance_repository.stale_scans(session, policy.stale_before):
        running = scan.state == "running"
        if running and scan.attempts >= policy.max_attempts:
            reason = outbox_module.stuck_reason("compliance scan", scan.attempts, scan.heartbeat_at)
            await compliance_repository.fail(session, scan.id, reason)
            counts["failed"] += 1
            continue
        await compliance_repository.set_lease(session, scan.id, "queued", count_attempt=running)
        outbox.defer(
            session, JOB_NAME, str(scan.id), job_id=f"{JOB_NAME}:{scan.id}:swept-{ordered_uuid()}"
        )
        counts["redispatched"] += 1
    return counts


async def list_findings(
    session: AsyncSession, prefix: str, rule: str | None, cursor: str | None, limit: int
) -> tuple[list[Finding], str | None]:
    stmt = compliance_repository.open_findings(prefix, rule)
    return await FindingRepository(session).paginate(
        stmt, [Finding.opened_at, Finding.id], cursor, limit
    )
