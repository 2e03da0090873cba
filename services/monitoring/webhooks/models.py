"""Monitoring's webhook tables (schema ``monitoring``), with its outbox of events."""

from services.monitoring.database import Base
from shared.webhooks.models import (
    WebhookCursorMixin,
    WebhookDeliveryMixin,
    WebhookEventMixin,
    WebhookSubscriptionMixin,
)


class WebhookSubscription(WebhookSubscriptionMixin, Base):
    """A partner's subscription to monitoring events (alerts and cases)."""


class WebhookDelivery(WebhookDeliveryMixin, Base):
    pass


class WebhookCursor(WebhookCursorMixin, Base):
    pass


class WebhookEvent(WebhookEventMixin, Base):
    """The outbox: an alert raised or closed, a case opened or moved on (预警, 监测对象)."""
