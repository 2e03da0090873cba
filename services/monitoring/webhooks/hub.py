"""Monitoring webhooks: ``alert.raised`` / ``alert.closed`` from the scans, and a
``case.<step>`` event for every step of the monitored-household procedure."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.database import change_log
from services.monitoring.database import outbox as job_outbox
from services.monitoring.webhooks.models import (
    WebhookCursor,
    WebhookDelivery,
    WebhookSubscription,
)
from shared.webhooks import outbox
from shared.webhooks.hub import Hub, register

SCHEMA = "monitoring"

# A case action's event: ``case.<past tense>``.
CASE_EVENTS = {
    "open": "case.opened",
    "verify": "case.verified",
    "reject": "case.rejected",
    "village_review": "case.village_reviewed",
    "publish_notice": "case.notice_published",
    "close_notice": "case.notice_closed",
    "township_review": "case.township_reviewed",
    "county_decide": "case.decided",
    "add_measure": "case.measure_added",
    "follow_up": "case.followed_up",
    "propose_elimination": "case.elimination_proposed",
    "eliminate": "case.eliminated",
    "keep_monitoring": "case.kept_monitoring",
    "rollback": "case.rolled_back",
}
EVENT_TYPES = frozenset({"alert.raised", "alert.closed", *CASE_EVENTS.values()})

HUB = register(
    Hub(
        job_outbox=job_outbox,
        service="monitoring",
        schema=SCHEMA,
        subscription=WebhookSubscription,
        delivery=WebhookDelivery,
        cursor=WebhookCursor,
        event_types=EVENT_TYPES,
        source=outbox.source(SCHEMA),
    )
)

# An alert as delivered (over a CTE row ``r`` holding the alert's columns).
ALERT_DATA = (
    "jsonb_build_object('id', r.id, 'household_id', r.household_id, "
    "'region_code', r.region_code, 'rule', r.rule, 'kind', r.kind, 'status', r.status, "
    "'figures', r.figures, 'policy_year', r.policy_year, 'closed_reason', r.closed_reason)"
)


def alert_events_sql(type_: str, rows: str) -> str:
    """The change-log INSERT for alerts a set-based statement raised or closed."""
    return outbox.insert_sql(SCHEMA, type_, rows, ALERT_DATA)


async def case_event(
    session: AsyncSession,
    action: str,
    case: Any,
    from_stage: str | None,
    details: dict[str, Any],
) -> None:
    """A step of a case. Notes and evidence stay out (free text may name people)."""
    type_ = CASE_EVENTS.get(action)
    if type_ is None:
        return
    household_id: UUID | None = case.household_id
    await outbox.record(
        session,
        change_log,
        HUB.service,
        type_=type_,
        entity_id=case.id,
        region_code=case.region_code,
        household_id=household_id,
        data={
            "id": case.id,
            "household_id": household_id,
            "region_code": case.region_code,
            "action": action,
            "from_stage": from_stage,
            "stage": case.stage,
            "channel": case.channel,
            "policy_year": case.policy_year,
            "details": details,
        },
    )
