"""One handler per action of the case state machine (``machine.MACHINE``): each checks what
its action needs, does what it does to the case and the registry, and says where the case goes
and what the timeline records. ``service.act`` checks who may act at which stage and
dispatches here."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.cases import elimination
from services.monitoring.cases.machine import Stage, Step
from services.monitoring.cases.models import MonitoringCase
from services.monitoring.cases.registry_effects import refusal, set_category
from services.monitoring.cases.repository import CaseRepository
from services.monitoring.cases.schemas import Action, CaseActionRequest
from services.monitoring.policy.models import MonitoringPolicy
from shared import pii
from shared.auth import Principal
from shared.contracts.registry import HouseholdCategory, MeasureCreate
from shared.errors import Conflict, ValidationFailed
from shared.i18n import t
from shared.registry_client import RegistryClient

# The actions whose note and evidence are posted in the village as the public notice (公示).
NOTICE_ACTIONS = (Action.publish_notice, Action.propose_elimination)


@dataclass
class ActionContext:
    session: AsyncSession
    principal: Principal
    case: MonitoringCase
    req: CaseActionRequest
    step: Step
    policy: MonitoringPolicy  # the case's own (the one it was opened under)
    registry: RegistryClient
    token: str | None
    today: date


@dataclass
class Outcome:
    next_stage: Stage
    details: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[ActionContext], Awaitable[Outcome]]


def refuse_personal_data(req: CaseActionRequest) -> None:
    """A public notice shows no ID number or phone number (domain.md section 3)."""
    for name, value in (("note", req.note), ("evidence", json.dumps(req.evidence))):
        found = pii.personal_data_in(value)
        if found:
            raise ValidationFailed.field(
                name,
                t(
                    "a public notice may not show personal data ({found})",
                    "notice.personal_data",
                    found=", ".join(found),
                ),
            )


def _require(condition: bool, name: str, message: str) -> None:
    if not condition:
        raise ValidationFailed.field(name, message)


def _notice_period(ctx: ActionContext) -> tuple[date, date]:
    req = ctx.req
    if req.starts_on is None or req.ends_on is None:
        raise ValidationFailed.field(
            "ends_on",
            t("the notice period (starts_on, ends_on) is required", "notice.period_required"),
        )
    # A backdated notice would be over the moment it is posted: the village never saw it.
    if req.starts_on < ctx.today:
        raise ValidationFailed.field(
            "starts_on",
            t(
                "a notice starts on the day it is posted ({today}) or later",
                "notice.backdated",
                today=ctx.today,
            ),
        )
    days = ctx.policy.notice_days
    if (req.ends_on - req.starts_on).days < days:
        raise ValidationFailed.field(
            "ends_on",
            t("the notice lasts at least {days} days", "notice.too_short", days=days),
        )
    return req.starts_on, req.ends_on


def _hear_objections(req: CaseActionRequest) -> tuple[int, dict[str, Any]]:
    """The objections a notice collected (异议), as the timeline records them, and how many
    were upheld."""
    upheld = sum(1 for o in req.objections if o.upheld)
    return upheld, {"objections": [o.model_dump() for o in req.objections], "upheld": upheld}


def _usual(ctx: ActionContext, details: dict[str, Any] | None = None) -> Outcome:
    return Outcome(ctx.step.to[0], details or {})


async def verify(ctx: ActionContext) -> Outcome:
    return _usual(ctx)


async def reject(ctx: ActionContext) -> Outcome:
    return _usual(ctx, {"reason": ctx.req.note})


async def review(ctx: ActionContext) -> Outcome:
    """The village's democratic review or the township's: pass, or reject the case."""
    req = ctx.req
    _require(
        req.result is not None,
        "result",
        t("pass or reject is required for a review", "case.result_required"),
    )
    details = {"result": req.result, "attendees": req.attendees}
    if req.result == "reject":
        return Outcome(Stage.rejected, details)
    return _usual(ctx, details)


async def publish_notice(ctx: ActionContext) -> Outcome:
    starts_on, ends_on = _notice_period(ctx)
    case = ctx.case
    case.notice_starts_on, case.notice_ends_on = starts_on, ends_on
    return _usual(ctx, {"starts_on": starts_on, "ends_on": ends_on, "posted_in": case.region_code})


async def close_notice(ctx: ActionContext) -> Outcome:
    ends_on = ctx.case.notice_ends_on
    if ends_on is None or ctx.today <= ends_on:
        raise Conflict(
            t(
                "the notice runs until {ends_on}; close it after that day",
                "case.notice_running",
                ends_on=ends_on,
            )
        )
    upheld, details = _hear_objections(ctx.req)
    if upheld:
        return Outcome(Stage.verified, details)  # an upheld objection sends the case back
    return _usual(ctx, details)


async def county_decide(ctx: ActionContext) -> Outcome:
    req, case = ctx.req, ctx.case
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
        await CaseRepository(ctx.session).household(case.household_id)
        if case.household_id
        else None
    )
    before = household.category if household is not None else None
    case.category_before = (
        before if before and before != "monitored" else (case.category_before or before)
    )
    await set_category(
        ctx.registry, case, "monitored", f"监测户: case {case.id} decided by the county", ctx.token
    )
    case.monitored_type, case.risk_types = req.monitored_type, list(req.risk_types or [])
    case.monitored_since = ctx.today
    return _usual(
        ctx,
        {
            "monitored_type": req.monitored_type,
            "risk_types": req.risk_types,
            "category_before": case.category_before,
        },
    )


async def add_measure(ctx: ActionContext) -> Outcome:
    req, case = ctx.req, ctx.case
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
    response = await ctx.registry.add_measure(
        case.household_id,
        measure,
        token=ctx.token,
        # One key per case step: a retry of this very action replays, the next differs.
        idempotency_key=f"monitoring-case-{case.id}-"
        f"{await CaseRepository(ctx.session).count_events(case.id)}",
    )
    if response.status_code >= 300:
        raise refusal(response, t("recording the measure"))
    return _usual(
        ctx,
        {
            "measure": req.measure.model_dump(mode="json"),
            "registry_measure_id": response.json().get("id"),
        },
    )


async def follow_up(ctx: ActionContext) -> Outcome:
    return _usual(ctx)


async def propose_elimination(ctx: ActionContext) -> Outcome:
    req, case = ctx.req, ctx.case
    _require(
        req.result == "pass",
        "result",
        t(
            "the village review must pass to propose elimination",
            "case.village_review_not_passed",
        ),
    )
    starts_on, ends_on = _notice_period(ctx)
    case.elimination_notice_starts_on = starts_on
    case.elimination_notice_ends_on = ends_on
    return _usual(ctx, {"result": req.result, "starts_on": starts_on, "ends_on": ends_on})


async def eliminate(ctx: ActionContext) -> Outcome:
    req, case = ctx.req, ctx.case
    ends_on = case.elimination_notice_ends_on
    if ends_on is None or ctx.today <= ends_on:
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
        # An upheld objection keeps the household monitored.
        return Outcome(Stage.monitored, details)
    _require(
        req.method is not None,
        "method",
        t("help or natural is required", "case.method_required"),
    )
    unmet = await elimination.unmet_conditions(ctx.session, case, ctx.policy)
    if unmet:
        raise Conflict(
            t(
                "the risk cannot be eliminated yet: {conditions}",
                "case.elimination_refused",
                conditions=elimination.listed(unmet),
            ),
            unmet_conditions=[str(u) for u in unmet],
        )
    restore = case.category_before or HouseholdCategory.poverty_alleviated.value
    await set_category(
        ctx.registry, case, restore, f"风险消除 ({req.method}): case {case.id}", ctx.token
    )
    case.elimination_method = req.method
    return _usual(ctx, details | {"method": req.method, "category_restored": restore})


async def keep_monitoring(ctx: ActionContext) -> Outcome:
    _, details = _hear_objections(ctx.req)
    return _usual(ctx, details)


async def rollback(ctx: ActionContext) -> Outcome:
    case = ctx.case
    await set_category(ctx.registry, case, "monitored", f"风险消除回退: case {case.id}", ctx.token)
    case.elimination_method = None
    case.monitored_since = ctx.today
    return _usual(ctx)


HANDLERS: dict[Action, Handler] = {
    Action.verify: verify,
    Action.reject: reject,
    Action.village_review: review,
    Action.publish_notice: publish_notice,
    Action.close_notice: close_notice,
    Action.township_review: review,
    Action.county_decide: county_decide,
    Action.add_measure: add_measure,
    Action.follow_up: follow_up,
    Action.propose_elimination: propose_elimination,
    Action.eliminate: eliminate,
    Action.keep_monitoring: keep_monitoring,
    Action.rollback: rollback,
}
if set(HANDLERS) != set(Action):  # every action of the machine has exactly one handler
    raise RuntimeError(f"actions without a handler: {sorted(set(Action) - set(HANDLERS))}")
