"""Monitoring webhooks: ``alert.raised`` / ``alert.closed`` from the scans, and a
``case.<step>`` event for every step of the monitored-household procedure."""

import json
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.database import DECLARATION_TEXT, FEED, Base, change_log
from services.monitoring.database import outbox as job_outbox
from shared.audit import json_timestamp_sql
from shared.auth import Principal
from shared.changelog.feed import with_masked_text
from shared.webhooks import outbox
from shared.webhooks import service as webhook_service
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
# A late case marked overdue and escalated by the hourly job (set-based, no request).
CASE_ESCALATED = "case.escalated"
# ``signal.linked``: an alert raised (or refreshed) later lists it, or no longer does: its
# ``alert_ids`` changed, with a new version.
SIGNAL_EVENTS = ("signal.received", "signal.matched", "signal.linked")
# A self-declaration received, then its review steps (``declaration.<op>``).
DECLARATION_OPS = {"review": "reviewed", "accept": "accepted", "dismiss": "dismissed"}
DECLARATION_EVENTS = (
    "declaration.received",
    *(f"declaration.{op}" for op in DECLARATION_OPS.values()),
)
POLICY_EVENTS = (
    "policy.created",
    "policy.requested",
    "policy.superseded",
    "policy.approved",
    "policy.refused",
)
EVENT_TYPES = frozenset(
    {
        "alert.raised",
        "alert.updated",
        "alert.closed",
        *CASE_EVENTS.values(),
        CASE_ESCALATED,
        *POLICY_EVENTS,
        *SIGNAL_EVENTS,
        *DECLARATION_EVENTS,
    }
)

HUB = mount(
    "monitoring",
    Base,
    job_outbox,
    EVENT_TYPES,
    # Shown by the feed's rules: a signal's or a declaration's ID number masked for roles
    # that see no full numbers, declarations only for the roles that read them.
    outbox.source(FEED),
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
    "'signal_ids', coalesce(r.figures->'signal_ids', '[]'::jsonb), "
    "'score', r.score::float8, 'top_indicators', r.top_indicators)"
)


# A signal's ``alert_ids`` as the table holds them: the alerts of its household whose figures
# list it (an index probe per signal, through ``ix_alerts_household_id``).
SIGNAL_ALERT_IDS = (
    "coalesce((SELECT jsonb_agg(a.id ORDER BY a.raised_at, a.id) "
    "FROM monitoring.alerts a WHERE a.household_id = r.household_id "
    "AND a.figures -> 'signal_ids' ? r.id::text), '[]'::jsonb)"
)


def signal_data_sql(alert_ids: str = SIGNAL_ALERT_IDS) -> str:
    """A signal (over a CTE row ``r`` holding its columns): ``SignalRead`` field for field,
    its ``alert_ids`` given by ``alert_ids`` (the table's, or a column a set-based statement
    computed from its alerts as they stand after it)."""
    return (
        "jsonb_build_object('id', r.id, 'source', r.source, 'kind', r.kind, "
        "'external_ref', r.external_ref, 'id_number', r.id_number, "
        "'household_id', r.household_id, 'region_code', r.region_code, "
        "'amount', r.amount::text, 'occurred_on', r.occurred_on, "
        f"'received_at', {json_timestamp_sql('r.received_at')}, "
        f"'matched_at', {json_timestamp_sql('r.matched_at')}, 'version', r.version, "
        f"'alert_ids', {alert_ids})"
    )


def signal_events_sql(type_: str, rows: str, alert_ids: str = SIGNAL_ALERT_IDS) -> str:
    """The change-log INSERT for signals a set-based statement received, matched or linked
    to alerts (``alert_ids``: as ``signal_data_sql``)."""
    return outbox.insert_sql(SCHEMA, type_, rows, signal_data_sql(alert_ids))


def alert_events_sql(type_: str, rows: str) -> str:
    """The change-log INSERT for alerts a set-based statement raised or closed."""
    return outbox.insert_sql(SCHEMA, type_, rows, ALERT_DATA)


def _allowed_actions_sql() -> str:
    """``CaseRead.allowed_actions`` of ``r.stage``, from the state machine."""
    from services.monitoring.cases import machine  # the machine imports the case schemas

    whens = " ".join(
        f"WHEN '{stage.value}' THEN '{json.dumps(machine.allowed(stage.value))}'::jsonb"
        for stage in machine.Stage
    )
    return f"(CASE r.stage {whens} ELSE '[]'::jsonb END)"


def case_events_sql(type_: str, rows: str) -> str:
    """The change-log INSERT for cases a set-based statement changed (over ``rows``, the
    cases' columns after it): ``CaseRead`` as ``GET /v1/cases`` lists it, field for field."""
    dates = (
        "monitored_since",
        "notice_starts_on",
        "notice_ends_on",
        "elimination_notice_starts_on",
        "elimination_notice_ends_on",
    )
    plain = (
        "id",
        "household_id",
        "region_code",
        "channel",
        "alert_id",
        "declaration_code",
        "stage",
        "policy_year",
        "policy_id",
        "monitored_type",
        "risk_types",
        *dates,
        "elimination_method",
        "overdue",
        "escalated_to",
        "escalated_level",
        "version",
    )
    fields = [f"'{name}', r.{name}" for name in plain] + [
        f"'{name}', {json_timestamp_sql('r.' + name)}"
        for name in ("stage_entered_at", "due_at", "created_at")
    ]
    fields += [f"'allowed_actions', {_allowed_actions_sql()}", "'timeline', '[]'::jsonb"]
    return outbox.insert_sql(SCHEMA, type_, rows, f"jsonb_build_object({', '.join(fields)})")


async def declaration_event(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    op: str,
    declaration: BaseModel,
    old: dict[str, Any] | None = None,
) -> None:
    """A declaration received (``principal`` None: nobody signs in to declare) or a review
    step: one entry, its audit (who, the status before and after) and its event, whose
    ``data`` is ``DeclarationRead`` whole, its free text also masked for readers below the
    county (the feed and webhooks show each reader its own)."""
    data = with_masked_text(declaration.model_dump(mode="json"), DECLARATION_TEXT)
    await change_log.record(
        session,
        principal,
        action=action,
        entity="declaration",
        entity_id=data["id"],
        region_code=data["region_code"],
        household_id=data["household_id"],
        old=old,
        # The audit view shows what changed, never the declarant's whole record.
        new={"status": data["status"], "case_id": data["case_id"]},
        op=op,
        data=data,
    )
    webhook_service.kick(session, HUB.service)


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
