"""Funds webhooks: ``project.<step>`` for a project created or moved along its life cycle,
``payment.created`` for every payment entry (a reversal too, naming what it reverses)."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.database import change_log
from services.funds.database import outbox as job_outbox
from services.funds.webhooks.models import (
    WebhookCursor,
    WebhookDelivery,
    WebhookSubscription,
)
from shared.webhooks import outbox
from shared.webhooks.hub import Hub, register

SCHEMA = "funds"

PROJECT_EVENTS = {
    "create": "project.created",
    "approve": "project.approved",
    "start": "project.started",
    "complete": "project.completed",
    "accept": "project.accepted",
    "cancel": "project.cancelled",
}
EVENT_TYPES = frozenset({*PROJECT_EVENTS.values(), "payment.created"})

HUB = register(
    Hub(
        job_outbox=job_outbox,
        service="funds",
        schema=SCHEMA,
        subscription=WebhookSubscription,
        delivery=WebhookDelivery,
        cursor=WebhookCursor,
        event_types=EVENT_TYPES,
        # A payee may be a person: departments see no names.
        source=outbox.source(SCHEMA, name_fields=("payee",)),
    )
)


async def project_event(session: AsyncSession, action: str, project: Any) -> None:
    await outbox.record(
        session,
        change_log,
        HUB.service,
        type_=PROJECT_EVENTS[action],
        entity_id=project.id,
        region_code=project.region_code,
        household_id=None,
        data={
            "id": project.id,
            "county_code": project.region_code,
            "region_code": project.region_code,
            "name": project.name,
            "kind": project.kind,
            "fiscal_year": project.fiscal_year,
            "budget": project.budget,
            "status": project.status,
        },
    )


async def payment_event(session: AsyncSession, payment: dict[str, Any], region_code: str) -> None:
    await outbox.record(
        session,
        change_log,
        HUB.service,
        type_="payment.created",
        entity_id=payment["id"],
        region_code=region_code,
        household_id=payment.get("household_id"),
        data={**payment, "region_code": region_code},
    )
