"""The registry's webhook tables (schema ``registry``)."""

from services.registry.database import Base
from shared.webhooks.models import (
    WebhookCursorMixin,
    WebhookDeliveryMixin,
    WebhookSubscriptionMixin,
)


class WebhookSubscription(WebhookSubscriptionMixin, Base):
    """A partner's subscription to registry events (Webhooks 事件订阅)."""


class WebhookDelivery(WebhookDeliveryMixin, Base):
    pass


class WebhookCursor(WebhookCursorMixin, Base):
    pass
