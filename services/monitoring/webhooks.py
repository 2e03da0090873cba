"""Monitoring webhooks: ``alert.raised`` / ``alert.closed`` from the scans, and a
``case.<step>`` event for every step of the monitored-household procedure."""

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.database import Base, change_log
from services.monitoring.database import outbox as job_outbox
from shared.audit import json_timestamp_sql
from shared.webhooks import outbox
from shared.webhooks.hub import mount

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
EVENT_TYPES = frozenset({"alert.raised", "alert.updated", "alert.closed", *CASE_EVENTS.values()})

HUB = mount(
    "monitoring",
    Base,
    job_outbox,
    EVENT_TYPES,
    outbox.source(SCHEMA),
)

# An alert as delivered and in the feed (over a CTE row ``r`` holding the alert's columns):
# ``AlertRead`` field for field, its timestamps written as that model writes them.
ALERT_DATA = (
    "jsonb_build_object('id', r.id, 'household_id', r.household_id, "
    "'region_code', r.region_code, 'rule', r.rule, 'kind', r.kind, 'status', r.status, "
    "'figures', r.figures, 'policy_id', r.policy_id, 'policy_year', r.policy_year, "
    "'scan_id', r.scan_id, "
    f"'raised_at', {json_timestamp_sql('r.raised_at')}, "
    f"'figures_updated_at', {json_timestamp_sql('r.figures_updated_at')}, "
    f"'closed_at', {json_timestamp_sql('r.closed_at')}, "
    "'closed_reason', r.closed_reason, 'version', r.version, "
    "'signal_ids', coalesce(r.figures->'signal_ids', '[]'::jsonb))"
)


def alert_events_sql(type_: str, rows: str) -> str:
    """The change-log INSERT for alerts a set-based statement raised or closed."""
    return outbox.insert_sql(SCHEMA, type_, rows, ALERT_DATA)


async def case_event(session: AsyncSession, action: str, case: BaseModel) -> None:
    """A step of a case: the case's state after it (``CaseRead`` as ``GET /v1/cases`` lists
    it: no timeline, whose notes and evidence are free text that may name people)."""
    type_ = CASE_EVENTS.get(action)
    if type_ is None:
        return
    data = case.model_dump(mode="json")
    await outbox.record(
        session,
        change_log,
        HUB.service,
        type_=type_,
        entity_id=data["id"],
        region_code=data["region_code"],
        household_id=data["household_id"],
        data=data,
    )
