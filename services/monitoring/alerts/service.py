"""Scans (预警筛查): split per county, each county under an advisory lock, rules set-based."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.monitoring.alerts import rules
from services.monitoring.alerts.models import Scan, ScanCounty
from services.monitoring.alerts.repository import ScanRepository
from services.monitoring.alerts.schemas import ScanCreate, ScanMode
from services.monitoring.database import change_log, outbox
from services.monitoring.policy.repository import PolicyRepository
from services.monitoring.projection import service as projection_service
from services.monitoring.scores import service as score_service
from shared import outbox as outbox_module
from shared import regions
from shared.auth import Principal, Role
from shared.db import ordered_uuid, utcnow
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.i18n import t
from shared.registry_client import RegistryClient

SCAN_ROLES = (Role.province_admin, Role.county_officer, Role.service)


def _county_scope(region_code: str, county_code: str) -> str:
    """The region one county job scans: the county, or the smaller region asked for."""
    return region_code if regions.contains(county_code, region_code) else county_code


def _check_request(principal: Principal, body: ScanCreate) -> None:
    if not regions.is_valid_code(body.region_code):
        raise ValidationFailed.field(
            "region_code", t("must be a 12-digit region code", "region.invalid")
        )
    principal.ensure_covers(body.region_code, "region")
    principal.ensure_role(*SCAN_ROLES)


async def request_scan(
    session: AsyncSession,
    session_maker: async_sessionmaker[AsyncSession],
    registry: RegistryClient,
    principal: Principal,
    body: ScanCreate,
    *,
    catch_up_s: float,
) -> Scan:
    """A scan asked for by a person: it first brings the projection up to the registry's
    feed position at this moment (waiting at most ``catch_up_s``), so it sees every registry
    change committed before it was asked for, households created a moment ago included."""
    _check_request(principal, body)
    position = await projection_service.catch_up(session_maker, registry, catch_up_s)
    return await create_scan(session, principal, body, feed_position=position)


async def create_scan(
    session: AsyncSession,
    principal: Principal,
    body: ScanCreate,
    *,
    requested_by: str | None = None,
    feed_position: str | None = None,
) -> Scan:
    _check_request(principal, body)
    repo = ScanRepository(session)
    if feed_position is None:
        feed_position = await projection_service.current_position(session)
    counties = await repo.counties_to_scan(
        regions.prefix_of(body.region_code), body.mode == ScanMode.incremental
    )
    policies = PolicyRepository(session)
    missing = [c for c in counties if await policies.for_year(c, body.year) is None]
    if missing or (not counties and await policies.for_year(body.region_code, body.year) is None):
        raise Conflict(
            t(
                "no monitoring policy for {year} covers {regions}: set it first with "
                "PUT /v1/policy/{year}?region=...",
                "policy.missing",
                year=body.year,
                regions=", ".join(missing) or body.region_code,
            ),
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
            feed_position=feed_position,
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
    await change_log.record(
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


async def scan_county(
    session: AsyncSession,
    scan_id: UUID,
    county_code: str,
    reader: AsyncSession | None = None,
    *,
    scoring: bool = True,
) -> ScanCounty | None:
    """Score every household the scan examines in one county, run every enabled rule (each
    alert carries its household's score) and close the open alerts of the rules switched off,
    in the caller's transaction. Idempotent: a county already done is skipped; a killed run
    rolled back entirely. ``reader``: a snapshot of the read replica that the rules' matches
    are read from (the primary then only writes; scores are computed and written on the
    primary). ``scoring=False``: the benchmark's scan without scores."""
    repo = ScanRepository(session)
    # Not locked: the job's heartbeat updates this row while the county runs (the advisory
    # lock below keeps two workers off one county).
    part = await repo.county(scan_id, county_code, for_update=False)
    if part is None or part.state in ("done", "failed"):
        return part
    if not await repo.try_county_lock(county_code):
        raise CountyBusy(county_code)
    # Read again under the lock: a copy of this job may have finished the county meanwhile.
    await session.refresh(part)
    if part.state in ("done", "failed"):
        return part
    scan = await repo.get(scan_id)
    assert scan is not None
    part.started_at = datetime.now(UTC)
    await repo.give_scan_memory()
    if reader is not None:
        await ScanRepository(reader).give_scan_memory()
    policy = await PolicyRepository(session).for_year(part.region_code, scan.year)
    examined = raised = closed = 0
    if policy is None:
        part.note = f"no monitoring policy for {scan.year}"
    else:
        params = rules.parameters(policy, regions.prefix_of(part.region_code), part.since, scan.id)
        examined = await rules.households_in_scope(reader or session, params)
        if scoring:
            params["score_names"] = await score_service.score_county(
                session, policy, part.region_code, params
            )
        for name in rules.enabled(policy):
            outcome = await rules.run_rule(session, name, params, reader)
            raised += outcome.raised
            closed += outcome.closed
        closed += await rules.close_disabled(session, rules.disabled(policy), params)
    part.state = "done"
    part.households_examined, part.alerts_raised, part.alerts_closed = examined, raised, closed
    part.finished_at = datetime.now(UTC)
    await session.flush()
    await repo.add_county_result(scan_id, examined, raised, closed)
    return part


async def claim_county(
    session: AsyncSession, scan_id: UUID, county_code: str, stale_s: float
) -> bool:
    """Take the county's lease (``running``, a fresh heartbeat) for this job; False when it
    is finished, or another copy of the job holds a fresh lease."""
    repo = ScanRepository(session)
    part = await repo.county(scan_id, county_code)
    if part is None or part.state in ("done", "failed"):
        return False
    if part.state == "running" and part.heartbeat_at > utcnow() - timedelta(seconds=stale_s):
        return False
    # Taking over from a worker that stopped counts as an attempt.
    await repo.set_county_lease(
        scan_id, county_code, "running", count_attempt=part.state == "running"
    )
    return True


async def release_county(session: AsyncSession, scan_id: UUID, county_code: str) -> None:
    """Give the lease back (the job retries later)."""
    await ScanRepository(session).set_county_lease(scan_id, county_code, "queued")


async def beat_county(session: AsyncSession, scan_id: UUID, county_code: str) -> None:
    await ScanRepository(session).beat(scan_id, county_code)


async def sweep(session: AsyncSession, policy: outbox_module.SweepPolicy) -> dict[str, int]:
    """County parts without a heartbeat since ``policy.stale_before``: a queued one is
    dispatched again (the queue may have lost it); a running one (its worker died) again as a
    new attempt, or after the last attempt failed with the reason (and so its scan)."""
    repo = ScanRepository(session)
    counts = {"redispatched": 0, "failed": 0}
    for part in await repo.stale_counties(policy.stale_before):
        running = part.state == "running"
        if running and part.attempts >= policy.max_attempts:
            reason = outbox_module.stuck_reason("scan", part.attempts, part.heartbeat_at)
            await fail_county(session, part.scan_id, part.county_code, reason)
            counts["failed"] += 1
            continue
        await repo.set_county_lease(part.scan_id, part.county_code, "queued", count_attempt=running)
        outbox.defer(
            session,
            "scan_county",
            str(part.scan_id),
            part.county_code,
            job_id=f"scan:{part.scan_id}:{part.county_code}:swept-{ordered_uuid()}",
        )
        counts["redispatched"] += 1
    return counts


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
        raise NotFound(t("scan not found", "scan.not_found"))
    await session.refresh(scan)
    return scan, await repo.counties_of(scan_id)
