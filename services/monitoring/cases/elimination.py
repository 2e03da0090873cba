"""When a monitored household's risk may be eliminated (风险消除, domain.md section 3): judged on
the projection against the policy the case was opened under."""

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.cases.deadlines import add_months
from services.monitoring.cases.models import MonitoringCase
from services.monitoring.cases.repository import CaseRepository
from services.monitoring.policy.models import MonitoringPolicy
from services.monitoring.policy.repository import PolicyRepository
from shared import clock
from shared.i18n import Message, t


async def unmet_conditions(
    session: AsyncSession, case: MonitoringCase, policy: MonitoringPolicy
) -> list[str]:
    """The elimination conditions the household does not meet yet (none: it may be)."""
    if case.household_id is None:
        return [t("the household is not registered")]
    facts = await CaseRepository(session).elimination_facts(case)
    unmet: list[str] = []
    months = policy.min_months_before_elimination
    since = case.monitored_since
    if since is None or add_months(since, months) > clock.today():
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
            if policy.year == facts.latest_year
            else await PolicyRepository(session).in_force(case.region_code, facts.latest_year)
        )
        line = (year_policy or policy).monitoring_line
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


def listed(parts: list[str]) -> Message:
    """Several messages as one, each shown in the reader's language."""
    return Message(
        "; ".join(f"{{p{i}}}" for i in range(len(parts))),
        **{f"p{i}": part for i, part in enumerate(parts)},
    )
