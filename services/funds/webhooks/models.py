"""Funds' webhook tables (schema ``funds``). Its events are entries of its change log."""

from services.funds.database import Base
from shared.webhooks.models import (
    WebhookCursorMixin,
    WebhookDeliveryMixin,
    WebhookSubscriptionMixin,
)


class WebhookSubscription(WebhookSubscriptionMixin, Base):
    """A partner's subscription to funds events (projects and payments)."""


class WebhookDelivery(WebhookDeliveryMixin, Base):
    pass


class WebhookCursor(WebhookCursorMixin, Base):
    pass
