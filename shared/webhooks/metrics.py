"""Scrape-time gauges of a service's webhooks: the backlog Prometheus alerts on
(``deploy/monitoring/rules/povguard.yml``: a receiver down, deliveries piling up)."""

from collections.abc import Sequence
from typing import Any

from prometheus_client.core import Metric

from shared import metrics
from shared.webhooks.hub import Hub
from shared.webhooks.repository import WebhookRepository


def collector(hub: Hub) -> metrics.DomainCollector:
    async def collect(state: Any) -> Sequence[Metric | None]:
        async with state.read_session_maker() as session:
            pending, oldest_s, failing = await WebhookRepository(session, hub).backlog()
        return [
            metrics.gauge_by(name, documentation, "service", [(hub.service, value)])
            for name, documentation, value in (
                (
                    "povguard_webhook_deliveries_pending",
                    "Webhook deliveries not yet accepted by their receiver.",
                    pending,
                ),
                (
                    "povguard_webhook_oldest_pending_age_seconds",
                    "Age of the oldest webhook delivery still waiting (0 when none waits).",
                    oldest_s or 0.0,
                ),
                (
                    "povguard_webhook_subscriptions_failing",
                    "Subscriptions whose receiver has been failing since their last success.",
                    failing,
                ),
            )
        ]

    return collect
