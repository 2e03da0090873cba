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
from services.monitoring.webhooks import HUB as WEBHOOKS
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
    summary: str  # what it says, as the API documents it
    figures: tuple[str, ...] = ()  # the policy columns holding its threshold
    kind: str = "case"  # "review": an eligibility check, not a case


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            "income_below_line",
            "per-capita net income under the monitoring line, 低于监测线",
            ("monitoring_line",),
        ),
        Rule(
            "income_drop",
            "income fell by more than the policy's ratio, 收入骤减",
            ("income_drop_ratio",),
        ),
        Rule(
            "rigid_expense",
            "rigid expenses over the policy's share of income, 刚性支出过大",
            ("rigid_expense_ratio",),
        ),
        # A guarantee checked not ok, a school-age child (6-15) out of school, or a resident
        # member without basic medical insurance.
        Rule("guarantee_lost", "one of 两不愁三保障 or drinking water not ok"),
        Rule("labour_loss", "no resident member can work, 缺劳动力"),
        # The first threshold for 脱贫户 and 监测户, the other for everyone else; 12 months.
        Rule(
            "medical_expense",
            "out-of-pocket medical cost over the threshold, 大额医疗支出",
            ("medical_expense_threshold", "medical_expense_threshold_other"),
        ),
        # A shock of SHOCK_KINDS reported in the last 12 months.
        Rule("department_signal", "a department reported a shock, 部门预警"),
        # The "四有" check of ANOMALY_KINDS.
        Rule(
            "eligibility_anomaly",
            "car, commercial housing, business or public payroll: a review, not a case, 四有核查",
            kind="review",
        ),
    )
}


def described() -> str:
    """Every rule and what it says, for the API's documentation."""
    return ", ".join(f"`{rule.name}` ({rule.summary})" for rule in RULES.values())


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
        "score_names": [],  # the scorecard's indicator names, once the scan has scored
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


async def run_rule(
    session: AsyncSession, name: str, params: dict[str, Any], reader: AsyncSession | None = None
) -> RuleOutcome:
    """Raise, refresh and close this rule's alerts in one county (one statement); with a
    ``reader`` (a snapshot on the read replica) the matches are found there and the primary
    only writes."""
    kind = RULES[name].kind
    if reader is None:
        raised, closed = await RuleRepository(session).run(name, kind, params)
    else:
        matches = await RuleRepository(reader).matches(name, params)
        raised, closed = await RuleRepository(session).apply(name, kind, params, matches)
    outcome = RuleOutcome(raised=raised, closed=closed)
    if outcome.raised or outcome.closed:
        webhook_service.kick(session, WEBHOOKS.service)
    return outcome


async def households_in_scope(session: AsyncSession, params: dict[str, Any]) -> int:
    return await RuleRepository(session).households_in_scope(params)
