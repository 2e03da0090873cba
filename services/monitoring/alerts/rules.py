"""The risk rules (预警规则): each named, switchable in the policy, and reading its figures
from the year's policy (domain.md section 3). ``RULES`` is the one list of rules: the policy
schema, the scans and the API all take it from here.

Where a rule's threshold is: ``Rule.figures`` names the policy columns it compares with (their
defaults are in ``policy/defaults.py``); the statement that runs it is
``alerts/repository.HOLDS[name]``."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.alerts.repository import HOLDS, RuleRepository
from services.monitoring.policy.models import MonitoringPolicy
from services.monitoring.webhooks.hub import HUB as WEBHOOKS
from shared import clock
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


@dataclass(frozen=True)
class Rule:
    name: str
    figures: tuple[str, ...] = ()  # the policy columns holding its threshold
    kind: str = "case"  # "review": an eligibility check, not a case


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        # Per-capita net income after rigid expenses under the year's monitoring line.
        Rule("income_below_line", ("monitoring_line",)),
        # Per-capita net income fell by more than the ratio against last year.
        Rule("income_drop", ("income_drop_ratio",)),
        # Rigid expenses over a share of the household's net income.
        Rule("rigid_expense", ("rigid_expense_ratio",)),
        # A guarantee checked not ok, a school-age child (6-15) out of school, or a resident
        # member without basic medical insurance.
        Rule("guarantee_lost"),
        # No resident member with labour capacity.
        Rule("labour_loss"),
        # Out-of-pocket medical cost in 12 months at or over the threshold (脱贫户 and 监测户),
        # or the other threshold (everyone else).
        Rule("medical_expense", ("medical_expense_threshold", "medical_expense_threshold_other")),
        # A department reported a shock (SHOCK_KINDS) in the last 12 months.
        Rule("department_signal"),
        # The "四有" check (ANOMALY_KINDS): raises a review, not a case.
        Rule("eligibility_anomaly", kind="review"),
    )
}

if set(HOLDS) != set(RULES):  # a rule without its statement, or a statement without a rule
    raise RuntimeError(f"rules {sorted(set(HOLDS) ^ set(RULES))} lack a rule or a statement")


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


async def close_disabled(session: AsyncSession, names: list[str], params: dict[str, Any]) -> int:
    """Close the open alerts of the switched-off rules in the scanned region (all of it, also
    on an incremental scan: switching a rule off changes no household). A rule switched off no
    longer speaks for anyone: its open alerts would otherwise stay open for good, blocking
    eliminations and counting in the stats."""
    if not names:
        return 0
    closed = await RuleRepository(session).close_rules(names, params)
    if closed:
        webhook_service.kick(session, WEBHOOKS.service)
    return closed


async def run_rule(session: AsyncSession, name: str, params: dict[str, Any]) -> RuleOutcome:
    """Raise, refresh and close this rule's alerts in one county (one statement)."""
    raised, closed = await RuleRepository(session).run(name, RULES[name].kind, params)
    outcome = RuleOutcome(raised=raised, closed=closed)
    if outcome.raised or outcome.closed:
        webhook_service.kick(session, WEBHOOKS.service)
    return outcome


async def households_in_scope(session: AsyncSession, params: dict[str, Any]) -> int:
    return await RuleRepository(session).households_in_scope(params)
