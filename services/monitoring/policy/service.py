"""Monitoring policy per region and year (监测标准): the figures every rule reads."""

from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.database import change_log
from services.monitoring.policy.models import MonitoringPolicy
from services.monitoring.policy.repository import PolicyRepository
from services.monitoring.policy.schemas import PolicyRead, PolicyWrite
from shared import regions
from shared.auth import Principal, Role
from shared.concurrency import check_version
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.i18n import Message, t

MIN_YEAR, MAX_YEAR = 2014, 2100


def check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed.field(
            "year",
            t(
                "must be between {min} and {max}",
                "year.out_of_range",
                min=MIN_YEAR,
                max=MAX_YEAR,
            ),
        )


def requested_region(principal: Principal, region: str | None) -> str:
    code = region or principal.region_code
    if not regions.is_valid_code(code):
        raise ValidationFailed.field(
            "region", t("must be a 12-digit region code", "region.invalid")
        )
    return code


async def get_in_force(
    session: AsyncSession, principal: Principal, year: int, region: str | None
) -> MonitoringPolicy:
    check_year(year)
    code = requested_region(principal, region)
    # Anyone may read the policy that applies to them, so a village cadre reads the
    # province's; a region outside the caller's line of ancestors and descendants is 404.
    if not (principal.covers(code) or regions.contains(code, principal.region_code)):
        raise NotFound(t("region not found", "region.not_found"))
    policy = await PolicyRepository(session).for_year(code, year)
    if policy is None:
        raise NotFound(
            t(
                "no monitoring policy for {year} in force for region {region}",
                "policy.missing",
                year=year,
                region=code,
            )
        )
    return policy


def version_names_it(policy: MonitoringPolicy, principal: Principal, region: str | None) -> bool:
    """Whether the policy's version alone tells what ``GET /policy/{year}?region=`` answers:
    not when a county reads the province's, since the county's own (numbered from 1 again)
    may take over and would carry the same version (a stale ETag would then answer 304)."""
    asked = requested_region(principal, region)
    return policy.region_code == asked or regions.level_of(policy.region_code) != (
        regions.RegionLevel.province
    )


def loosened(values: dict[str, Any], province: MonitoringPolicy | None) -> list[str]:
    """What a county's figures relax against the province's for the year (domain.md section
    8): a lower line, higher ratios or medical thresholds, a shorter notice or stable period,
    a longer identification deadline, or a rule switched off that the province has on."""
    if province is None:
        return ["no province policy for the year to compare with"]
    found = [
        f"{field} {values[field]} {word} the province's {getattr(province, field)}"
        for field, word, looser in (
            ("monitoring_line", "below", lambda c, p: c < p),
            ("income_drop_ratio", "above", lambda c, p: c > p),
            ("rigid_expense_ratio", "above", lambda c, p: c > p),
            ("medical_expense_threshold", "above", lambda c, p: c > p),
            ("medical_expense_threshold_other", "above", lambda c, p: c > p),
            ("notice_days", "below", lambda c, p: c < p),
            ("min_months_before_elimination", "below", lambda c, p: c < p),
            ("identification_deadline_days", "above", lambda c, p: c > p),
            ("first_measure_days", "above", lambda c, p: c > p),
            ("elimination_decision_days", "above", lambda c, p: c > p),
        )
        if looser(Decimal(str(values[field])), Decimal(str(getattr(province, field))))
    ]
    found += [
        f"rule {name} off while the province has it on"
        for name, on in sorted(province.rules.items())
        if on and not values["rules"].get(name, True)
    ]
    return found


async def put_policy(
    session: AsyncSession,
    principal: Principal,
    year: int,
    region: str | None,
    body: PolicyWrite,
    *,
    if_match: str | None = None,
) -> tuple[MonitoringPolicy, bool]:
    """Set a year's policy; ``(policy, created)``. A county officer's override that loosens
    the province's is stored ``pending`` until a province admin approves it (who asks does
    not approve); anything else is in force at once. A policy in force is never edited: the
    new one supersedes it, so cases keep the figures they were opened under."""
    code = setter_region(
        principal,
        year,
        region,
        t("a policy is set for a province or a county", "policy.wrong_level"),
        t("a county officer sets the policy of their own county only", "policy.other_county"),
    )
    repo = PolicyRepository(session)
    values = body.model_dump()
    values["rules"] = PolicyWrite.model_validate(body.model_dump()).rules
    current = await repo.exact(code, year)
    if if_match is not None:
        check_version(if_match, current.version if current else 0)
    loosens: list[str] = []
    if (
        regions.level_of(code) == regions.RegionLevel.county
        and principal.role != Role.province_admin
    ):
        province = await repo.exact(regions.ancestor_at(code, regions.RegionLevel.province), year)
        loosens = loosened(values, province)
    if loosens:
        pending = await repo.exact(code, year, "pending")
        if pending is not None:  # a new request replaces the one not yet decided
            pending.status = "superseded"
            await session.flush()
            await _superseded(session, pending)
        policy = repo.add(
            MonitoringPolicy(
                region_code=code,
                year=year,
                **values,
                status="pending",
                requested_by=principal.sub,
                loosens=loosens,
            )
        )
        await session.flush()
        await change_log.record(
            session,
            principal,
            action="policy.request",
            entity="policy",
            entity_id=policy.id,
            region_code=code,
            new=_snapshot(policy),
            op="requested",
            data=_state(policy),
        )
        return policy, True
    policy = await _put_in_force(session, code, year, values, current, principal.sub)
    await change_log.record(
        session,
        principal,
        action="policy.create" if current is None else "policy.update",
        entity="policy",
        entity_id=policy.id,
        region_code=code,
        old=_snapshot(current) if current else None,
        new=_snapshot(policy),
        op="created",
        data=_state(policy),
    )
    return policy, current is None


async def _put_in_force(
    session: AsyncSession,
    code: str,
    year: int,
    values: dict[str, Any],
    current: MonitoringPolicy | None,
    requested_by: str,
) -> MonitoringPolicy:
    next_version = current.version + 1 if current is not None else 1
    if current is not None:
        current.status = "superseded"
        await session.flush()  # one policy in force per region and year, even mid-flush
        await _superseded(session, current)
    policy = PolicyRepository(session).add(
        MonitoringPolicy(
            region_code=code,
            year=year,
            **values,
            status="active",
            requested_by=requested_by,
        )
    )
    await session.flush()
    if next_version > 1:
        await PolicyRepository(session).continue_version(policy, next_version)
    return policy


def setter_region(
    principal: Principal,
    year: int,
    region: str | None,
    wrong_level: Message,
    other_county: Message,
) -> str:
    """The region whose year-rule (a policy, a scorecard) ``principal`` sets: a province's by
    a province admin, a county's by a province admin or that county's own officer."""
    check_year(year)
    code = requested_region(principal, region)
    level = regions.level_of(code)
    if level not in (regions.RegionLevel.province, regions.RegionLevel.county):
        raise ValidationFailed.field("region", wrong_level)
    principal.ensure_covers(code, "region")
    if level == regions.RegionLevel.province:
        principal.ensure_role(Role.province_admin)
    else:
        principal.ensure_role(Role.province_admin, Role.county_officer)
        if principal.role == Role.county_officer and principal.region_code != code:
            raise Forbidden(other_county)
    return code


def ensure_decidable(principal: Principal, request: Any, not_pending: Message) -> None:
    """A county's pending request (a policy, a scorecard) is decided by a province admin who
    did not ask for it (四眼原则: who asks does not approve)."""
    principal.ensure_role(Role.province_admin)
    if request.status != "pending":
        raise Conflict(not_pending)
    if request.requested_by == principal.sub:
        raise Forbidden(
            t(
                "who asks does not approve: another province account must decide",
                "policy.same_account",
            )
        )


async def decide(
    session: AsyncSession, principal: Principal, policy_id: UUID, approve: bool
) -> MonitoringPolicy:
    """The province approves (or refuses) a county's loosening override. The approver is
    never its requester; both accounts are in the row and in the audit trail."""
    repo = PolicyRepository(session)
    request = await repo.get(policy_id, for_update=True)
    if request is None or not principal.covers(request.region_code):
        raise NotFound(t("policy not found", "policy.not_found"))
    ensure_decidable(
        principal,
        request,
        t(
            "this policy is {status}, not pending a decision",
            "policy.not_pending",
            status=request.status,
        ),
    )
    if approve:
        current = await PolicyRepository(session).exact(request.region_code, request.year)
        if current is not None:
            current.status = "superseded"
            await session.flush()  # one policy in force per region and year, even mid-flush
            await _superseded(session, current)
    request.status = "active" if approve else "refused"
    request.decided_by = principal.sub
    await session.flush()
    await change_log.record(
        session,
        principal,
        action="policy.approve" if approve else "policy.refuse",
        entity="policy",
        entity_id=request.id,
        region_code=request.region_code,
        old={"status": "pending", "requested_by": request.requested_by},
        new=_snapshot(request),
        op="approved" if approve else "refused",
        data=_state(request),
    )
    return request


def list_query(session: AsyncSession, prefix: str, year: int | None, status: str | None) -> Any:
    return PolicyRepository(session).list_query(prefix, year, status)


def _snapshot(policy: MonitoringPolicy) -> dict[str, object]:
    return {c.key: getattr(policy, c.key) for c in MonitoringPolicy.__table__.columns}


def _state(policy: MonitoringPolicy) -> dict[str, Any]:
    """A policy's feed event: its whole state as GET shows it (``PolicyRead``, version)."""
    return PolicyRead.model_validate(policy).model_dump(mode="json")


async def _superseded(session: AsyncSession, policy: MonitoringPolicy) -> None:
    """The replaced row's event (after the flush that bumped its version): the system's
    consequence of the change whose own entry names who acted."""
    await change_log.record(
        session,
        None,
        action="policy.supersede",
        entity="policy",
        entity_id=policy.id,
        region_code=policy.region_code,
        op="superseded",
        data=_state(policy),
    )
