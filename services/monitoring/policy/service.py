"""Monitoring policy per region and year (监测标准): the figures every rule reads."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.database import audit
from services.monitoring.policy.models import MonitoringPolicy
from services.monitoring.policy.repository import PolicyRepository
from services.monitoring.policy.schemas import PolicyWrite
from shared import regions
from shared.auth import Principal, Role
from shared.concurrency import check_version
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed

MIN_YEAR, MAX_YEAR = 2014, 2100


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed.field("year", f"must be between {MIN_YEAR} and {MAX_YEAR}")


def _region(principal: Principal, region: str | None) -> str:
    code = region or principal.region_code
    if not regions.is_valid_code(code):
        raise ValidationFailed.field("region", "must be a 12-digit region code")
    return code


async def get_in_force(
    session: AsyncSession, principal: Principal, year: int, region: str | None
) -> MonitoringPolicy:
    _check_year(year)
    code = _region(principal, region)
    # Anyone may read the policy that applies to them, so a village cadre reads the
    # province's; a region outside the caller's line of ancestors and descendants is 404.
    if not (principal.covers(code) or regions.contains(code, principal.region_code)):
        raise NotFound("region not found")
    policy = await PolicyRepository(session).in_force(code, year)
    if policy is None:
        raise NotFound(f"no monitoring policy for {year} in force for region {code}")
    return policy


async def policy_for_scan(session: AsyncSession, region_code: str, year: int) -> MonitoringPolicy:
    policy = await PolicyRepository(session).in_force(region_code, year)
    if policy is None:
        raise Conflict(
            f"no monitoring policy for {year} covers region {region_code}: "
            f"set one first with PUT /v1/policy/{year}?region=...",
            missing="policy",
        )
    return policy


async def put_policy(
    session: AsyncSession,
    principal: Principal,
    year: int,
    region: str | None,
    body: PolicyWrite,
    *,
    if_match: str | None = None,
) -> tuple[MonitoringPolicy, bool]:
    _check_year(year)
    code = _region(principal, region)
    level = regions.level_of(code)
    if level not in (regions.RegionLevel.province, regions.RegionLevel.county):
        raise ValidationFailed.field("region", "a policy is set for a province or a county")
    principal.ensure_covers(code, "region")
    if level == regions.RegionLevel.province:
        principal.ensure_role(Role.province_admin)
    else:
        principal.ensure_role(Role.province_admin, Role.county_officer)
        if principal.role == Role.county_officer and principal.region_code != code:
            raise Forbidden("a county officer sets the policy of their own county only")
    repo = PolicyRepository(session)
    values = body.model_dump()
    values["rules"] = PolicyWrite.model_validate(body.model_dump()).rules
    policy = await repo.exact(code, year)
    if if_match is not None:
        check_version(if_match, policy.version if policy else 0)
    created = policy is None
    old = None
    if policy is None:
        policy = repo.add(MonitoringPolicy(region_code=code, year=year, **values))
    else:
        old = _snapshot(policy)
        for key, value in values.items():
            setattr(policy, key, value)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="policy.create" if created else "policy.update",
        entity="policy",
        entity_id=policy.id,
        region_code=code,
        old=old,
        new=_snapshot(policy),
    )
    return policy, created


def _snapshot(policy: MonitoringPolicy) -> dict[str, object]:
    return {c.key: getattr(policy, c.key) for c in MonitoringPolicy.__table__.columns}
