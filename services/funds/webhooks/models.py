"""Funds' webhook tables (schema ``funds``), with its outbox of events."""

from services.funds.database import Base
from shared.webhooks.models import (
    WebhookCursorMixin,
    WebhookDeliveryMixin,
    WebhookEventMixin,
    WebhookSubscriptionMixin,
)


class WebhookSubscription(WebhookSubscriptionMixin, Base):
    """A partner's subscription to funds events (projects and payments)."""


class WebhookDelivery(WebhookDeliveryMixin, Base):
    pass


class WebhookCursor(WebhookCursorMixin, Base):
    pass


class WebhookEvent(WebhookEventMixin, Base):
    """The outbox: a project created or moved on, a payment made (项目库, 资金支付)."""
