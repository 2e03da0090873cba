"""The risk rules (预警规则), each a named unit evaluated set-based over the projection.

A rule is a SELECT over ``scope`` (the households a scan examines in one county) yielding
``household_id, region_code, figures`` for every household where it holds. ``run_rule``
wraps it in one statement that raises new alerts, refreshes open ones and closes those
whose household was examined and no longer qualifies."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.policy.models import MonitoringPolicy
from services.monitoring.webhooks.hub import HUB as WEBHOOKS
from services.monitoring.webhooks.hub import alert_events_sql
from shared import clock
from shared.contracts.registry import ABLE_TO_WORK
from shared.webhooks import service as webhook_service

# Department signal kinds (部门预警信息) each rule listens to.
SHOCK_KINDS = (
    "disaster_loss",
    "accident",
    "death_of_worker",
    "job_loss",
    "dropout",
    "dangerous_housing",
)
ANOMALY_KINDS = ("car", "commercial_housing", "business_registered", "public_payroll")
LABOUR = "(" + ", ".join(f"'{capacity}'" for capacity in ABLE_TO_WORK) + ")"


@dataclass(frozen=True)
class Rule:
    name: str
    holds_sql: str
    kind: str = "case"  # "review": an eligibility check, not a case


RULES: dict[str, Rule] = {}


def _rule(name: str, holds_sql: str, kind: str = "case") -> Rule:
    RULES[name] = Rule(name, holds_sql, kind)
    return RULES[name]


_rule(
    "income_below_line",
    """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('year', e.year,
                              'per_capita_net_income', e.per_capita_net_income::text,
                              'monitoring_line', CAST(:line AS numeric)::text) AS figures
      FROM scope s
      JOIN monitoring.economics e ON e.household_id = s.id AND e.year = CAST(:year AS smallint)
     WHERE e.per_capita_net_income < CAST(:line AS numeric)
    """,
)

_rule(
    "income_drop",
    """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('year', e.year,
                              'per_capita_net_income', e.per_capita_net_income::text,
                              'previous_per_capita_net_income', p.per_capita_net_income::text,
                              'drop_ratio', round(1 - e.per_capita_net_income
                                                      / p.per_capita_net_income, 4),
                              'threshold_ratio', CAST(:drop AS numeric)) AS figures
      FROM scope s
      JOIN monitoring.economics e ON e.household_id = s.id AND e.year = CAST(:year AS smallint)
      JOIN monitoring.economics p ON p.household_id = s.id AND p.year = CAST(:year AS smallint) - 1
     WHERE p.per_capita_net_income > 0
       AND e.per_capita_net_income < p.per_capita_net_income * (1 - CAST(:drop AS numeric))
    """,
)

_rule(
    "rigid_expense",
    """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('year', e.year, 'rigid_expenses', e.rigid_expenses::text,
                              'net_income', e.net_income::text,
                              'threshold_ratio', CAST(:rigid AS numeric)) AS figures
      FROM scope s
      JOIN monitoring.economics e ON e.household_id = s.id AND e.year = CAST(:year AS smallint)
     WHERE e.rigid_expenses > 0
       AND e.rigid_expenses > CAST(:rigid AS numeric) * greatest(e.net_income, 0)
    """,
)

# A guarantee checked not ok, a school-age child (6-15) out of school, or a resident member
# without basic medical insurance.
_rule(
    "guarantee_lost",
    """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('failed', jsonb_agg(DISTINCT g.kind)) AS figures
      FROM scope s
      JOIN (
            SELECT household_id, kind FROM monitoring.guarantees
             WHERE NOT ok AND region_code LIKE :prefix
            UNION ALL
            SELECT household_id, 'compulsory_education' FROM monitoring.members
             WHERE region_code LIKE :prefix AND departed_on IS NULL AND NOT in_school
               AND birth_date > CAST(:today AS date) - interval '16 years'
               AND birth_date <= CAST(:today AS date) - interval '6 years'
            UNION ALL
            SELECT household_id, 'basic_medical' FROM monitoring.members
             WHERE region_code LIKE :prefix AND departed_on IS NULL AND NOT medical_insurance
           ) g ON g.household_id = s.id
     GROUP BY s.id, s.region_code
    """,
)

_rule(
    "labour_loss",
    f"""
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('resident_members', count(*)) AS figures
      FROM scope s
      JOIN monitoring.members m ON m.household_id = s.id AND m.departed_on IS NULL
     GROUP BY s.id, s.region_code
    HAVING count(*) FILTER (WHERE m.labour_capacity IN {LABOUR}) = 0
    """,
)

_rule(
    "medical_expense",
    """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('out_of_pocket_12_months', sum(x.amount)::text,
                              'threshold', CASE WHEN s.category IN ('poverty_alleviated', 'monitored')
                                                THEN CAST(:med AS numeric)
                                                ELSE CAST(:med_other AS numeric) END::text,
                              'signals', count(*)) AS figures
      FROM scope s
      JOIN monitoring.signals x ON x.household_id = s.id
     WHERE x.source = 'medical_insurance' AND x.amount IS NOT NULL
       AND x.occurred_on > CAST(:today AS date) - interval '12 months'
     GROUP BY s.id, s.region_code, s.category
    HAVING sum(x.amount) >= CASE WHEN s.category IN ('poverty_alleviated', 'monitored')
                                 THEN CAST(:med AS numeric)
                                 ELSE CAST(:med_other AS numeric) END
    """,
)

_rule(
    "department_signal",
    """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('kinds', jsonb_agg(DISTINCT x.kind),
                              'sources', jsonb_agg(DISTINCT x.source),
                              'latest_on', max(x.occurred_on)) AS figures
      FROM scope s
      JOIN monitoring.signals x ON x.household_id = s.id
     WHERE x.kind = ANY(CAST(:shock_kinds AS text[]))
       AND x.occurred_on > CAST(:today AS date) - interval '12 months'
     GROUP BY s.id, s.region_code
    """,
)

_rule(
    "eligibility_anomaly",
    """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('kinds', jsonb_agg(DISTINCT x.kind),
                              'sources', jsonb_agg(DISTINCT x.source)) AS figures
      FROM scope s
      JOIN monitoring.signals x ON x.household_id = s.id
     WHERE x.kind = ANY(CAST(:anomaly_kinds AS text[]))
     GROUP BY s.id, s.region_code
    """,
    kind="review",
)

# Incremental scans look back a margin before the last scan's start: a change stamped
# before that scan began may have committed after it read the projection. Re-examining a
# household is harmless (rules are idempotent); missing one is not.
_SCOPE = """
    scope AS MATERIALIZED (
        SELECT id, region_code, category FROM monitoring.households
         WHERE region_code LIKE :prefix
           AND (CAST(:since AS timestamptz) IS NULL
                OR changed_at > CAST(:since AS timestamptz) - interval '10 minutes')
    )
"""


def _statement(rule: Rule) -> str:
    return f"""
    WITH {_SCOPE},
    holds AS MATERIALIZED ({rule.holds_sql}),
    raised AS (
        INSERT INTO monitoring.alerts AS a
            (household_id, region_code, rule, kind, figures, policy_id, policy_year, scan_id)
        SELECT household_id, region_code, CAST(:rule AS text), CAST(:kind AS text), figures,
               CAST(:policy_id AS uuid), CAST(:year AS smallint), CAST(:scan_id AS uuid)
          FROM holds
        ON CONFLICT (household_id, rule) WHERE status = 'open' DO UPDATE
           SET figures = excluded.figures, figures_updated_at = now(), scan_id = excluded.scan_id,
               policy_id = excluded.policy_id, policy_year = excluded.policy_year,
               region_code = excluded.region_code
         -- An alert that still holds on the same figures is left alone: rewriting every
         -- open alert on every scan would cost a new row version each.
         WHERE a.figures IS DISTINCT FROM excluded.figures
            OR a.policy_id IS DISTINCT FROM excluded.policy_id
            OR a.region_code IS DISTINCT FROM excluded.region_code
        RETURNING a.*, (xmax = 0) AS inserted
    ),
    raised_events AS (
        {alert_events_sql("alert.raised", "(SELECT * FROM raised WHERE inserted)")}
    ),
    closed AS (
        UPDATE monitoring.alerts a
           SET status = 'closed', closed_at = now(), closed_by_scan_id = CAST(:scan_id AS uuid),
               closed_reason = 'a later scan found the rule no longer holds'
         WHERE a.rule = CAST(:rule AS text) AND a.status = 'open'
           AND a.region_code LIKE :prefix
           AND a.household_id IN (SELECT id FROM scope)
           AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.household_id = a.household_id)
        RETURNING a.*
    ),
    closed_events AS (
        {alert_events_sql("alert.closed", "closed")}
    )
    SELECT (SELECT count(*) FROM raised WHERE inserted) AS raised,
           (SELECT count(*) FROM closed) AS closed
    """


_STATEMENTS = {name: text(_statement(rule)) for name, rule in RULES.items()}


@dataclass
class RuleOutcome:
    raised: int = 0
    closed: int = 0


def parameters(
    policy: MonitoringPolicy, prefix: str, since: datetime | None, scan_id: UUID | None
) -> dict[str, Any]:
    return {
        "prefix": prefix + "%",
        "since": since,
        "year": policy.year,
        "policy_id": policy.id,
        "scan_id": scan_id,
        "today": clock.today(),  # China's date, not the database server's
        "line": str(policy.monitoring_line),
        "drop": str(policy.income_drop_ratio),
        "rigid": str(policy.rigid_expense_ratio),
        "med": str(policy.medical_expense_threshold),
        "med_other": str(policy.medical_expense_threshold_other),
        "shock_kinds": list(SHOCK_KINDS),
        "anomaly_kinds": list(ANOMALY_KINDS),
    }


def enabled(policy: MonitoringPolicy) -> list[str]:
    return [name for name in RULES if (policy.rules or {}).get(name, True)]


def disabled(policy: MonitoringPolicy) -> list[str]:
    return [name for name in RULES if name not in enabled(policy)]


# A rule switched off no longer speaks for anyone: its open alerts would otherwise stay open
# for good, blocking eliminations and counting in the stats.
_CLOSE_DISABLED = text(
    f"""
    WITH closed AS (
        UPDATE monitoring.alerts
           SET status = 'closed', closed_at = now(), closed_by_scan_id = CAST(:scan_id AS uuid),
               closed_reason = 'rule switched off in the policy'
         WHERE rule = ANY(CAST(:rules AS text[])) AND status = 'open' AND region_code LIKE :prefix
        RETURNING *
    )
    {alert_events_sql("alert.closed", "closed")}
    """
)


async def close_disabled(session: AsyncSession, names: list[str], params: dict[str, Any]) -> int:
    """Close the open alerts of the switched-off rules in the scanned region (all of it, also
    on an incremental scan: switching a rule off changes no household)."""
    if not names:
        return 0
    result = await session.execute(
        _CLOSE_DISABLED,
        {"rules": names, "prefix": params["prefix"], "scan_id": params["scan_id"]},
    )
    closed = int(cast("CursorResult[Any]", result).rowcount or 0)  # one event per alert closed
    if closed:
        webhook_service.kick(session, WEBHOOKS.service)
    return closed


async def run_rule(session: AsyncSession, name: str, params: dict[str, Any]) -> RuleOutcome:
    """One statement: raise, refresh and close this rule's alerts in one county."""
    rule = RULES[name]
    row = (
        await session.execute(_STATEMENTS[name], {**params, "rule": name, "kind": rule.kind})
    ).one()
    outcome = RuleOutcome(raised=int(row.raised), closed=int(row.closed))
    if outcome.raised or outcome.closed:
        webhook_service.kick(session, WEBHOOKS.service)
    return outcome


async def households_in_scope(session: AsyncSession, params: dict[str, Any]) -> int:
    return (
        await session.execute(
            text(
                "SELECT count(*) FROM monitoring.households WHERE region_code LIKE :prefix "
                "AND (CAST(:since AS timestamptz) IS NULL "
                "OR changed_at > CAST(:since AS timestamptz) - interval '10 minutes')"
            ),
            {"prefix": params["prefix"], "since": params["since"]},
        )
    ).scalar_one()
