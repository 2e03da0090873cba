"""The monitored-household procedure (监测对象识别与帮扶): opening cases, the state machine,
the registry effects of deciding and eliminating, deadlines and escalation."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.alerts.models import Alert
from services.monitoring.cases import machine
from services.monitoring.cases.models import CaseEvent, MonitoringCase
from services.monitoring.cases.repository import CaseRepository
from services.monitoring.cases.schemas import CaseActionRequest, CaseCreate, Channel
from services.monitoring.database import audit
from services.monitoring.policy.models import MonitoringPolicy
from services.monitoring.policy.repository import PolicyRepository
from services.monitoring.webhooks import hub as webhook_hub
from shared import clock, pii, regions
from shared.audit import to_jsonable
from shared.auth import Principal, Role
from shared.concurrency import check_version
from shared.contracts.registry import (
    DEVELOPMENT_MEASURES,
    CategoryChange,
    HouseholdCategory,
    MeasureCreate,
)
from shared.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from shared.i18n import Message, t
from shared.registry_client import RegistryClient

OPEN_ROLES = (
    Role.village_cadre,
    Role.township_officer,
    Role.county_officer,
    Role.province_admin,
    Role.service,
)
# Outside the caller's region a record reads exactly as one that does not exist: the same
# status and the same words, naming nothing (not even the id that was asked for).
HOUSEHOLD_NOT_FOUND = t("household not found", "household.not_found")
CASE_NOT_FOUND = t("case not found", "case.not_found")
MOVES_OUT_OF_SCOPE = t("this action would take the case outside your region", "case.out_of_scope")
FIRST_MEASURE_DAYS = 30  # at least one development-type measure within a month


def _now() -> datetime:
    return datetime.now(UTC)


async def policy_for_case(
    session: AsyncSession, region_code: str, year: int | None = None, policy_id: UUID | None = None
) -> MonitoringPolicy | None:
    """The policy the case recorded at its opening; for a new case, the policy in force for
    ``year``, else the latest year not in the future."""
    repo = PolicyRepository(session)
    if policy_id is not None and (recorded := await repo.get(policy_id)) is not None:
        return recorded
    if year is not None:
        policy = await repo.in_force(region_code, year)
        if policy is not None:
            return policy
    for candidate in range(clock.today().year, clock.today().year - 10, -1):
        policy = await repo.in_force(region_code, candidate)
        if policy is not None:
            return policy
    return None


async def _event(
    session: AsyncSession,
    case: MonitoringCase,
    principal: Principal,
    action: str,
    from_stage: str | None,
    note: str = "",
    evidence: list[Any] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        CaseEvent(
            case_id=case.id,
            region_code=case.region_code,
            action=action,
            from_stage=from_stage,
            to_stage=case.stage,
            actor=principal.sub,
            actor_role=principal.role.value,
            note=note,
            evidence=to_jsonable(evidence or []),
            details=to_jsonable(details or {}),
        )
    )
    await session.flush()  # the session does not autoflush; the timeline read follows
    await webhook_hub.case_event(session, action, case, from_stage, details or {})


async def create_case(
    session: AsyncSession,
    principal: Principal,
    *,
    household_id: UUID | None,
    region_code: str,
    channel: Channel,
    alert_id: UUID | None = None,
    declaration_code: str | None = None,
    note: str = "",
) -> MonitoringCase:
    """Open a case at ``discovered`` (the caller has checked scope)."""
    repo = CaseRepository(session)
    if household_id is not None:
        existing = await repo.open_for_household(household_id)
        if existing is not None:
            raise Conflict(
                t(
                    "household {household_id} already has an open case {case_id} (stage {stage})",
                    "case.already_open",
                    household_id=household_id,
                    case_id=existing.id,
                    stage=existing.stage,
                ),
                case_id=str(existing.id),
            )
    year = None
    if alert_id is not None:
        alert = await session.get(Alert, alert_id)
        if alert is None or alert.household_id != household_id:
            raise ValidationFailed.field(
                "alert_id", t("is not an alert of this household", "case.alert_not_of_household")
            )
        if alert.kind == "review":
            raise ValidationFailed.field(
                "alert_id",
                t(
                    "an eligibility review (eligibility_anomaly) does not open a case",
                    "case.review_alert",
                ),
            )
        year = alert.policy_year
    policy = await policy_for_case(session, region_code, year)
    deadline_days = policy.identification_deadline_days if policy else 15
    case = repo.add(
        MonitoringCase(
            household_id=household_id,
            region_code=region_code,
            channel=channel.value,
            alert_id=alert_id,
            declaration_code=declaration_code,
            stage="discovered",
            policy_year=policy.year if policy else clock.today().year,
            policy_id=policy.id if policy else None,
            risk_types=[],
            opened_by=principal.sub,
            stage_entered_at=_now(),
            due_at=_now() + timedelta(days=deadline_days),
        )
    )
    await session.flush()
    await _event(session, case, principal, "open", None, note, details={"channel": channel.value})
    await audit.record(
        session,
        principal,
        action="case.open",
        entity="case",
        entity_id=case.id,
        region_code=region_code,
        household_id=household_id,
        new={"channel": channel.value, "alert_id": alert_id, "declaration_code": declaration_code},
    )
    return case


async def open_case(
    session: AsyncSession, principal: Principal, body: CaseCreate
) -> MonitoringCase:
    principal.ensure_role(*OPEN_ROLES)
    household = await CaseRepository(session).household(body.household_id)
    if household is None or not principal.covers(household.region_code):
        raise NotFound(HOUSEHOLD_NOT_FOUND)
    return await create_case(
        session,
        principal,
        household_id=body.household_id,
        region_code=household.region_code,
        channel=body.channel,
        alert_id=body.alert_id,
        declaration_code=body.declaration_code,
        note=body.note,
    )


async def get_case(
    session: AsyncSession, principal: Principal, case_id: UUID, *, for_update: bool = False
) -> MonitoringCase:
    case = await CaseRepository(session).get(case_id, for_update=for_update)
    if case is None or not principal.covers(case.region_code):
        raise NotFound(CASE_NOT_FOUND)
    return case


async def timeline(session: AsyncSession, case_id: UUID) -> list[CaseEvent]:
    return await CaseRepository(session).timeline(case_id)


def _registry_refusal(response: httpx.Response, what: str) -> AppError:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    if response.status_code == 404:
        return NotFound(
            t(
                "{action}: the registry does not know this household ({detail})",
                "registry.household_not_found",
                action=what,
                detail=detail,
            )
        )
    if response.status_code == 403:
        return Forbidden(
            t(
                "{action}: the registry refused ({detail})",
                "registry.forbidden",
                action=what,
                detail=detail,
            )
        )
    if response.status_code == 422:
        return ValidationFailed(
            t(
                "{action}: the registry refused ({detail})",
                "registry.invalid",
                action=what,
                detail=detail,
            )
        )
    return Conflict(
        t(
            "{action}: the registry answered {status} ({detail})",
            "registry.refused",
            action=what,
            status=response.status_code,
            detail=detail,
        )
    )


async def _set_category(
    registry: RegistryClient, case: MonitoringCase, category: str, reason: str, token: str | None
) -> None:
    if case.household_id is None:
        raise Conflict(
            t(
                "the household must be registered before the county decides",
                "case.household_unregistered",
            )
        )
    response = await registry.set_category(
        case.household_id,
        CategoryChange(category=HouseholdCategory(category), reason=reason, case_id=case.id),
        token=token,
    )
    if response.status_code >= 300:
        raise _registry_refusal(response, t("setting the household category"))


def _notice_period(
    req: CaseActionRequest, policy: MonitoringPolicy | None, today: date
) -> tuple[date, date]:
    if req.starts_on is None or req.ends_on is None:
        raise ValidationFailed.field(
            "ends_on",
            t("the notice period (starts_on, ends_on) is required", "notice.period_required"),
        )
    # A backdated notice would be over the moment it is posted: the village never saw it.
    if req.starts_on < today:
        raise ValidationFailed.field(
            "starts_on",
            t(
                "a notice starts on the day it is posted ({today}) or later",
                "notice.backdated",
                today=today,
            ),
        )
    days = policy.notice_days if policy else 5
    if (req.ends_on - req.starts_on).days < days:
        raise ValidationFailed.field(
            "ends_on",
            t("the notice lasts at least {days} days", "notice.too_short", days=days),
        )
    return req.starts_on, req.ends_on


# The actions whose note and evidence are posted in the village as the public notice (公示).
NOTICE_ACTIONS = ("publish_notice", "propose_elimination")


def _refuse_personal_data(req: CaseActionRequest) -> None:
    """A public notice shows no ID number or phone number (domain.md section 3)."""
    for field, value in (("note", req.note), ("evidence", json.dumps(req.evidence))):
        found = pii.personal_data_in(value)
        if found:
            raise ValidationFailed.field(
                field,
                t(
                    "a public notice may not show personal data ({found})",
                    "notice.personal_data",
                    found=", ".join(found),
                ),
            )


def _require(condition: bool, field: str, message: str) -> None:
    if not condition:
        raise ValidationFailed.field(field, message)


def _hear_objections(req: CaseActionRequest) -> tuple[int, dict[str, Any]]:
    """The objections a notice collected (异议), as the timeline records them, and how many
    were upheld."""
    upheld = sum(1 for o in req.objections if o.upheld)
    return upheld, {"objections": [o.model_dump() for o in req.objections], "upheld": upheld}


async def _attach_registered_declarant(
    session: AsyncSession, case: MonitoringCase, principal: Principal
) -> None:
    """A declaration from someone the registry did not know opens a case with no household.
    Once the village registers them (the household visit usually leads to it), the case takes
    their household at its next action, unless that household has an open case of its own.
    Only a household in the case's own county: the case moves to its village there, never to
    another county, which could then neither see the case nor open its own. And only inside
    the actor's own region: a village cadre's action never carries a case into another
    village (someone whose region holds both takes the household in with their action)."""
    if case.household_id is not None:
        return
    repo = CaseRepository(session)
    county = regions.prefix_of(regions.county_of(case.region_code))
    # The two prefixes are nested (the actor covers the case): the longer is the narrower.
    within = max(county, principal.region_prefix, key=len)
    person = await repo.declared_person(case.id, within)
    if person is None or await repo.open_for_household(person.household_id) is not None:
        return
    case.household_id, case.region_code = person.household_id, person.region_code


async def act(
    session: AsyncSession,
    principal: Principal,
    case_id: UUID,
    req: CaseActionRequest,
    registry: RegistryClient,
    token: str | None,
    *,
    if_match: str | None = None,
) -> MonitoringCase:
    case = await get_case(session, principal, case_id, for_update=True)
    if if_match is not None:
        check_version(if_match, case.version)
    await _attach_registered_declarant(session, case, principal)
    action = req.action.value
    if principal.role not in machine.roles_for(action):
        allowed_roles = ", ".join(sorted(r.value for r in machine.roles_for(action)))
        raise Forbidden(
            t(
                "role {role} may not {action} (allowed: {roles})",
                "case.role_not_allowed",
                role=principal.role.value,
                action=action,
                roles=allowed_roles,
            )
        )
    steps = machine.MACHINE[case.stage]
    if action not in steps:
        raise Conflict(
            t(
                "a case at stage {stage} does not allow {action}; allowed: {allowed}",
                "case.wrong_stage",
                stage=case.stage,
                action=action,
                allowed=", ".join(machine.allowed(case.stage)) or t("none"),
            ),
            stage=case.stage,
            allowed_actions=machine.allowed(case.stage),
        )
    step = steps[action]
    if principal.role != step.role:
        raise Forbidden(
            t(
                "at stage {stage}, {action} is for {role}",
                "case.wrong_role",
                stage=case.stage,
                action=action,
                role=step.role.value,
            )
        )
    if action in NOTICE_ACTIONS:
        _refuse_personal_data(req)
    policy = await policy_for_case(session, case.region_code, case.policy_year, case.policy_id)
    from_stage = case.stage
    details: dict[str, Any] = {}
    next_stage = step.to[0]
    today = clock.today()

    if action in ("village_review", "township_review"):
        _require(
            req.result is not None,
            "result",
            t("pass or reject is required for a review", "case.result_required"),
        )
        if req.result == "reject":
            next_stage = "rejected"
        details = {"result": req.result, "attendees": req.attendees}
    elif action == "publish_notice":
        starts_on, ends_on = _notice_period(req, policy, today)
        case.notice_starts_on, case.notice_ends_on = starts_on, ends_on
        details = {"starts_on": starts_on, "ends_on": ends_on, "posted_in": case.region_code}
    elif action == "close_notice":
        if case.notice_ends_on is None or today <= case.notice_ends_on:
            raise Conflict(
                t(
                    "the notice runs until {ends_on}; close it after that day",
                    "case.notice_running",
                    ends_on=case.notice_ends_on,
                )
            )
        upheld, details = _hear_objections(req)
        if upheld:
            next_stage = "verified"  # an upheld objection sends the case back
    elif action == "county_decide":
        _require(
            req.monitored_type is not None,
            "monitored_type",
            t("1, 2 or 3 is required", "case.monitored_type_required"),
        )
        _require(
            bool(req.risk_types),
            "risk_types",
            t("at least one risk type code is required", "case.risk_types_required"),
        )
        household = (
            await CaseRepository(session).household(case.household_id)
            if case.household_id
            else None
        )
        before = household.category if household is not None else None
        case.category_before = (
            before if before and before != "monitored" else (case.category_before or before)
        )
        await _set_category(
            registry, case, "monitored", f"监测户: case {case.id} decided by the county", token
        )
        case.monitored_type, case.risk_types = req.monitored_type, list(req.risk_types or [])
        case.monitored_since = today
        details = {
            "monitored_type": req.monitored_type,
            "risk_types": req.risk_types,
            "category_before": case.category_before,
        }
    elif action == "add_measure":
        if req.measure is None:
            raise ValidationFailed.field(
                "measure", t("the measure to record is required", "case.measure_required")
            )
        if case.household_id is None:
            raise Conflict(
                t(
                    "the household must be registered before measures are recorded",
                    "case.household_unregistered",
                )
            )
        measure = MeasureCreate(**req.measure.model_dump(), case_id=case.id)
        response = await registry.add_measure(
            case.household_id,
            measure,
            token=token,
            # One key per case step: a retry of this very action replays, the next differs.
            idempotency_key=f"monitoring-case-{case.id}-"
            f"{await CaseRepository(session).count_events(case.id)}",
        )
        if response.status_code >= 300:
            raise _registry_refusal(response, t("recording the measure"))
        details = {
            "measure": req.measure.model_dump(mode="json"),
            "registry_measure_id": response.json().get("id"),
        }
    elif action == "propose_elimination":
        _require(
            req.result == "pass",
            "result",
            t(
                "the village review must pass to propose elimination",
                "case.village_review_not_passed",
            ),
        )
        starts_on, ends_on = _notice_period(req, policy, today)
        case.elimination_notice_starts_on = starts_on
        case.elimination_notice_ends_on = ends_on
        details = {"result": req.result, "starts_on": starts_on, "ends_on": ends_on}
    elif action == "eliminate":
        ends_on = case.elimination_notice_ends_on
        if ends_on is None or today <= ends_on:
            raise Conflict(
                t(
                    "the elimination notice runs until {ends_on}; decide after that day",
                    "case.elimination_notice_running",
                    ends_on=ends_on,
                ),
                notice_ends_on=str(ends_on) if ends_on else None,
            )
        upheld, details = _hear_objections(req)
        if upheld:
            next_stage = "monitored"  # an upheld objection keeps the household monitored
        else:
            _require(
                req.method is not None,
                "method",
                t("help or natural is required", "case.method_required"),
            )
            unmet = await unmet_conditions(session, case, policy)
            if unmet:
                raise Conflict(
                    t(
                        "the risk cannot be eliminated yet: {conditions}",
                        "case.elimination_refused",
                        conditions=_listed(unmet),
                    ),
                    unmet_conditions=[str(u) for u in unmet],
                )
            restore = case.category_before or HouseholdCategory.poverty_alleviated.value
            await _set_category(
                registry, case, restore, f"风险消除 ({req.method}): case {case.id}", token
            )
            case.elimination_method = req.method
            details |= {"method": req.method, "category_restored": restore}
    elif action == "keep_monitoring":
        _, details = _hear_objections(req)
    elif action == "rollback":
        await _set_category(registry, case, "monitored", f"风险消除回退: case {case.id}", token)
        case.elimination_method = None
        case.monitored_since = today
    elif action == "reject":
        details = {"reason": req.note}

    # Scope is checked on the state an action produces as well as the one it starts from:
    # nothing an action does may leave the case outside the region of whoever took it.
    if not principal.covers(case.region_code):
        raise Conflict(MOVES_OUT_OF_SCOPE)
    case.stage = next_stage
    case.updated_at = _now()  # every action is a new version, so If-Match sees it
    if next_stage != from_stage:
        case.stage_entered_at = _now()
    development = req.measure is not None and req.measure.kind in DEVELOPMENT_MEASURES
    case.due_at = _due(case, policy, action, development)
    # A new stage answers to another level (the hourly job escalates again if still late);
    # within a stage, what was late is no longer late once its clock stops or moves ahead.
    if next_stage != from_stage or case.due_at is None or case.due_at > _now():
        case.overdue, case.escalated_to, case.escalated_level = False, None, None
    await session.flush()
    await _event(session, case, principal, action, from_stage, req.note, req.evidence, details)
    await audit.record(
        session,
        principal,
        action=f"case.{action}",
        entity="case",
        entity_id=case.id,
        region_code=case.region_code,
        household_id=case.household_id,
        old={"stage": from_stage},
        new={"stage": case.stage, **details},
    )
    return case


def _due(
    case: MonitoringCase, policy: MonitoringPolicy | None, action: str, development: bool = False
) -> datetime | None:
    """The stage's clock (all figures from the policy)."""
    if case.stage in machine.CLOSED:
        return None
    deadline = policy.identification_deadline_days if policy else 15
    if case.stage in machine.IDENTIFICATION:
        # The whole identification runs against one clock from discovery.
        return case.due_at or case.created_at + timedelta(days=deadline)
    if case.stage == "monitored":
        if action == "add_measure":
            # The first-month clock waits for a development-type measure (开发式帮扶).
            return None if development else case.due_at
        if action in ("county_decide", "rollback"):
            return _now() + timedelta(days=FIRST_MEASURE_DAYS)
        return case.due_at if action == "follow_up" else None
    if case.stage == "elimination_proposed":
        return _now() + timedelta(days=deadline)
    return None


async def unmet_conditions(
    session: AsyncSession, case: MonitoringCase, policy: MonitoringPolicy | None
) -> list[str]:
    """Elimination conditions (domain.md section 3), judged on the projection."""
    if case.household_id is None:
        return [t("the household is not registered")]
    facts = await CaseRepository(session).elimination_facts(case)
    unmet: list[str] = []
    months = policy.min_months_before_elimination if policy else 6
    since = case.monitored_since
    if since is None or _add_months(since, months) > clock.today():
        unmet.append(
            t("monitored for less than {months} months (since {since})", months=months, since=since)
        )
    if facts.measures < 1:
        unmet.append(t("no help measure recorded"))
    line: Decimal | None = None
    if facts.latest_year is not None:
        # The year the case was opened under is judged by the policy it recorded, even if a
        # new one for that year has since come into force.
        year_policy = (
            policy
            if policy is not None and policy.year == facts.latest_year
            else await PolicyRepository(session).in_force(case.region_code, facts.latest_year)
        )
        line = (year_policy or policy).monitoring_line if (year_policy or policy) else None
    if facts.latest_income is None or line is None:
        unmet.append(t("no yearly income recorded to compare with the monitoring line"))
    elif facts.latest_income <= line:
        unmet.append(
            t(
                "latest per-capita net income {income} ({year}) is not above the monitoring "
                "line {line}",
                income=facts.latest_income,
                year=facts.latest_year,
                line=line,
            )
        )
    if facts.failed_guarantees:
        unmet.append(
            t("guarantees not ok: {guarantees}", guarantees=", ".join(facts.failed_guarantees))
        )
    if facts.open_risks:
        unmet.append(t("risks still open: {risks}", risks=", ".join(facts.open_risks)))
    if facts.workers < 1:
        unmet.append(t("no resident member with labour capacity"))
    return unmet


def _listed(parts: list[str]) -> Message:
    """Several messages as one, each shown in the reader's language."""
    return Message(
        "; ".join(f"{{p{i}}}" for i in range(len(parts))),
        **{f"p{i}": part for i, part in enumerate(parts)},
    )


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    return date(year, month, 28)


async def list_cases(
    session: AsyncSession, prefix: str, stage: str | None, overdue: bool | None
) -> Any:
    return CaseRepository(session).list_query(prefix, stage, overdue)


# The level that should have acted at each stage, and the one above it that a late case
# escalates to: (prefix length of the level above, its name).
_ESCALATE = text(
    """
    WITH late AS (
        UPDATE monitoring.cases c
           SET overdue = true,
               escalated_level = CASE
                   WHEN c.stage IN ('notice_closed') THEN 'county'
                   WHEN c.stage IN ('township_reviewed', 'elimination_proposed') THEN 'city'
                   ELSE 'township' END,
               escalated_to = rpad(substr(c.region_code, 1, CASE
                   WHEN c.stage IN ('notice_closed') THEN 6
                   WHEN c.stage IN ('township_reviewed', 'elimination_proposed') THEN 4
                   ELSE 9 END), 12, '0')
         WHERE c.due_at < now() AND NOT c.overdue
           AND c.stage NOT IN ('eliminated', 'rejected')
        RETURNING c.id, c.region_code, c.stage, c.escalated_to, c.escalated_level
    )
    INSERT INTO monitoring.case_events
        (case_id, region_code, action, from_stage, to_stage, actor, actor_role, note, evidence,
         details)
    SELECT id, region_code, 'escalate', stage, stage, 'monitoring-scheduler', 'service',
           'past the stage deadline', '[]'::jsonb,
           jsonb_build_object('escalated_to', escalated_to, 'level', escalated_level)
      FROM late
    RETURNING case_id
    """
)


async def mark_overdue(session: AsyncSession) -> int:
    """Set-based: every late case is marked overdue and escalated one level up."""
    return len((await session.execute(_ESCALATE)).all())
