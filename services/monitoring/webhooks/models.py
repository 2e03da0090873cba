"""Monitoring's webhook tables (schema ``monitoring``). Its events are entries of its change log."""

from services.monitoring.database import Base
from shared.webhooks.models import (
    WebhookCursorMixin,
    WebhookDeliveryMixin,
    WebhookSubscriptionMixin,
)


class WebhookSubscription(WebhookSubscriptionMixin, Base):
    """A partner's subscription to monitoring events (alerts and cases)."""


class WebhookDelivery(WebhookDeliveryMixin, Base):
    pass


class WebhookCursor(WebhookCursorMixin, Base):
    pass
