"""The clocks of a case (domain.md section 3), every figure from the case's policy row: the
identification from discovery to the county's decision, the first development-type measure
after the decision, and the county's decision on an elimination proposal. A case past its
clock is overdue and escalates (``CaseRepository.escalate_overdue``)."""

from datetime import date, datetime, timedelta

from services.monitoring.cases.machine import CLOSED, IDENTIFICATION, Stage
from services.monitoring.cases.models import MonitoringCase
from services.monitoring.cases.schemas import Action
from services.monitoring.policy.models import MonitoringPolicy


def identification_due(policy: MonitoringPolicy, discovered_at: datetime) -> datetime:
    """The whole identification normally within the policy's days of discovery."""
    return discovered_at + timedelta(days=policy.identification_deadline_days)


def due(
    case: MonitoringCase,
    policy: MonitoringPolicy,
    action: Action,
    now: datetime,
    *,
    development: bool = False,
) -> datetime | None:
    """The clock of the stage ``action`` has just left the case at (``case.stage``)."""
    if case.stage in CLOSED:
        return None
    if case.stage in IDENTIFICATION:
        # The whole identification runs against one clock from discovery.
        return case.due_at or identification_due(policy, case.created_at)
    if case.stage == Stage.monitored:
        if action == Action.add_measure:
            # The first-month clock waits for a development-type measure (开发式帮扶).
            return None if development else case.due_at
        if action in (Action.county_decide, Action.rollback):
            return now + timedelta(days=policy.first_measure_days)
        return case.due_at if action == Action.follow_up else None
    if case.stage == Stage.elimination_proposed:
        return now + timedelta(days=policy.elimination_decision_days)
    return None


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, on the month's last day when it has no such day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    return date(year, month, 28)
