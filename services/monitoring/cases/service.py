"""The monitored-household procedure (监测对象识别与帮扶): opening cases and taking their actions
through the state machine (``machine``), one handler per action (``actions``), the clocks from
the case's policy (``deadlines``), and the hourly escalation of late cases."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring import webhooks as webhook_hub
from services.monitoring.alerts.repository import AlertRepository
from services.monitoring.cases import actions, deadlines, machine
from services.monitoring.cases.models import CaseEvent, MonitoringCase
from services.monitoring.cases.repository import CaseRepository
from services.monitoring.cases.schemas import (
    Action,
    CaseActionRequest,
    CaseCreate,
    CaseRead,
    Channel,
)
from services.monitoring.database import change_log
from services.monitoring.policy.models import MonitoringPolicy
from services.monitoring.policy.repository import PolicyRepository
from shared import clock, regions
from shared.audit import to_jsonable
from shared.auth import Principal, Role
from shared.concurrency import check_version
from shared.contracts.registry import DEVELOPMENT_MEASURES
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.i18n import t
from shared.registry_client import RegistryClient
from shared.webhooks import service as webhook_service

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


def _now() -> datetime:
    return datetime.now(UTC)


async def policy_for_case(
    session: AsyncSession, region_code: str, year: int | None = None, policy_id: UUID | None = None
) -> MonitoringPolicy:
    """The policy the case recorded at its opening; for a new case, the policy in force for
    ``year`` (default this year). Without one nothing is judged: the case is refused, as a
    scan is, until an operator sets the year's policy."""
    repo = PolicyRepository(session)
    if policy_id is not None and (recorded := await repo.get(policy_id)) is not None:
        return recorded
    asked = year if year is not None else clock.today().year
    policy = await repo.in_force(region_code, asked)
    if policy is None:
        raise Conflict(
            t(
                "no monitoring policy in force for region {region} in {year} or before: a case "
                "follows the policy's deadlines, so set one first with "
                "PUT /v1/policy/{year}?region=...",
                "policy.missing",
                region=region_code,
                year=asked,
            ),
            missing="policy",
        )
    return policy


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
    await webhook_hub.case_event(session, action, case_state(case))


def case_state(case: MonitoringCase) -> CaseRead:
    """The case as ``GET /v1/cases`` lists it (no timeline: its notes are free text): what its
    feed events and webhooks carry, after a flush (so with the version the write left)."""
    read = CaseRead.model_validate(case)
    read.allowed_actions = machine.allowed(case.stage)
    return read


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
        alert = await AlertRepository(session).get(alert_id)
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
    now = _now()
    case = repo.add(
        MonitoringCase(
            household_id=household_id,
            region_code=region_code,
            channel=channel.value,
            alert_id=alert_id,
            declaration_code=declaration_code,
            stage=machine.Stage.discovered,
            policy_year=policy.year,
            policy_id=policy.id,
            risk_types=[],
            opened_by=principal.sub,
            stage_entered_at=now,
            due_at=deadlines.identification_due(policy, now),
        )
    )
    await session.flush()
    await _event(session, case, principal, "open", None, note, details={"channel": channel.value})
    await change_log.record(
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


def _step(principal: Principal, case: MonitoringCase, action: Action) -> machine.Step:
    """The machine's step for ``action`` at the case's stage, if the principal may take it."""
    if principal.role not in machine.roles_for(action):
        allowed_roles = ", ".join(sorted(r.value for r in machine.roles_for(action)))
        raise Forbidden(
            t(
                "role {role} may not {action} (allowed: {roles})",
                "case.role_not_allowed",
                role=principal.role.value,
                action=action.value,
                roles=allowed_roles,
            )
        )
    steps = machine.MACHINE[machine.Stage(case.stage)]
    if action not in steps:
        raise Conflict(
            t(
                "a case at stage {stage} does not allow {action}; allowed: {allowed}",
                "case.wrong_stage",
                stage=case.stage,
                action=action.value,
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
                action=action.value,
                role=step.role.value,
            )
        )
    return step


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
    action = req.action
    step = _step(principal, case, action)
    if action in actions.NOTICE_ACTIONS:
        actions.refuse_personal_data(req)
    policy = await policy_for_case(session, case.region_code, case.policy_year, case.policy_id)
    from_stage = case.stage
    outcome = await actions.HANDLERS[action](
        actions.ActionContext(
            session=session,
            principal=principal,
            case=case,
            req=req,
            step=step,
            policy=policy,
            registry=registry,
            token=token,
            today=clock.today(),
        )
    )
    next_stage, details = outcome.next_stage.value, outcome.details

    # Scope is checked on the state an action produces as well as the one it starts from:
    # nothing an action does may leave the case outside the region of whoever took it.
    if not principal.covers(case.region_code):
        raise Conflict(MOVES_OUT_OF_SCOPE)
    case.stage = next_stage
    case.updated_at = _now()  # every action is a new version, so If-Match sees it
    if next_stage != from_stage:
        case.stage_entered_at = _now()
    development = req.measure is not None and req.measure.kind in DEVELOPMENT_MEASURES
    case.due_at = deadlines.due(case, policy, action, _now(), development=development)
    # A new stage answers to another level (the hourly job escalates again if still late);
    # within a stage, what was late is no longer late once its clock stops or moves ahead.
    if next_stage != from_stage or case.due_at is None or case.due_at > _now():
        case.overdue, case.escalated_to, case.escalated_level = False, None, None
    await session.flush()
    await _event(session, case, principal, action, from_stage, req.note, req.evidence, details)
    await change_log.record(
        session,
        principal,
        action=f"case.{action}",
        entity="case",
        entity_id=case.id,
        region_code=case.region_code,
        household_id=case.household_id,
        # The versions let an offline batch find what changed since the one it saw.
        old={"stage": from_stage, "version": case.version - 1},
        new={"stage": case.stage, **details, "version": case.version},
    )
    return case


async def list_cases(
    session: AsyncSession, prefix: str, stage: str | None, overdue: bool | None
) -> Any:
    return CaseRepository(session).list_query(prefix, stage, overdue)


async def mark_overdue(session: AsyncSession) -> int:
    """Set-based: every late case is marked overdue and escalated one level up, and its new
    state published (``case.escalated``)."""
    escalated = await CaseRepository(session).escalate_overdue()
    if escalated:
        webhook_service.kick(session, webhook_hub.HUB.service)
    return escalated
