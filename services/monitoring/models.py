"""Every monitoring table, imported in one place for Alembic and the tests."""

from services.monitoring.alerts.models import Alert, Scan, ScanCounty
from services.monitoring.cases.models import CaseEvent, MonitoringCase
from services.monitoring.database import Base, ChangeLogEntry, IdempotencyKey, JobOutbox
from services.monitoring.declarations.models import Declaration
from services.monitoring.policy.models import MonitoringPolicy
from services.monitoring.projection.models import (
    FeedCursor,
    WatchedEconomics,
    WatchedGuarantee,
    WatchedHousehold,
    WatchedMeasure,
    WatchedMember,
)
from services.monitoring.scores.models import HouseholdScore, Scorecard
from services.monitoring.signals.models import Signal
from services.monitoring.webhooks import HUB as _WEBHOOKS

# The webhook tables are made once in shared.webhooks for every service.
WebhookSubscription = _WEBHOOKS.subscription
WebhookDelivery = _WEBHOOKS.delivery
WebhookCursor = _WEBHOOKS.cursor

__all__ = [
    "Alert",
    "Base",
    "CaseEvent",
    "ChangeLogEntry",
    "Declaration",
    "FeedCursor",
    "HouseholdScore",
    "IdempotencyKey",
    "JobOutbox",
    "MonitoringCase",
    "MonitoringPolicy",
    "Scan",
    "ScanCounty",
    "Scorecard",
    "Signal",
    "WatchedEconomics",
    "WatchedGuarantee",
    "WatchedHousehold",
    "WatchedMeasure",
    "WatchedMember",
    "WebhookCursor",
    "WebhookDelivery",
    "WebhookSubscription",
]
