"""Funds webhooks and feed events: ``project.<step>`` for a project created or moved along its
life cycle (``project.updated`` when a payment changes what it has paid), ``payment.created``
for every payment entry (a reversal too, naming what it reverses), ``payment.confirmed``;
``fund.created`` and ``fund.updated`` (an allocation or a payment changed what it shows),
``allocation.created``; ``asset.created`` and ``asset.<disposal step>``, ``income.created`` and
``income.distributed`` (an asset's income entry), ``distribution.created``. Each carries the
entity's whole state as its GET shows it (``ProjectRead``, ``PaymentRead``, ``FundRead``,
``AllocationRead``, ``AssetRead``, ``IncomeRead``, ``DistributionRead``)."""

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.database import FEED, Base, change_log
from services.funds.database import outbox as job_outbox
from shared.webhooks import outbox
from shared.webhooks.hub import mount

SCHEMA = "funds"

PROJECT_EVENTS = {
    "create": "project.created",
    "approve": "project.approved",
    "start": "project.started",
    "complete": "project.completed",
    "accept": "project.accepted",
    "cancel": "project.cancelled",
    "update": "project.updated",
}
EVENT_TYPES = frozenset(
    {
        *PROJECT_EVENTS.values(),
        "project.updated",
        "payment.created",
        "payment.confirmed",
        "fund.created",
        "fund.updated",
        "allocation.created",
        "asset.created",
        "asset.disposal_requested",
        "asset.disposal_approved",
        "asset.disposal_rejected",
        "asset.disposed",
        "income.created",
        "income.distributed",
        "distribution.created",
    }
)

HUB = mount(
    "funds",
    Base,
    job_outbox,
    EVENT_TYPES,
    # Shown by the feed's rules: a payee may be a person, departments see no names.
    outbox.source(FEED),
)


async def project_event(session: AsyncSession, action: str, project: BaseModel) -> None:
    """``project``: its ``ProjectRead`` as the county sees it (whole state, with version)."""
    data = project.model_dump(mode="json")
    await outbox.record(
        session,
        change_log,
        HUB.service,
        type_=PROJECT_EVENTS[action],
        entity_id=data["id"],
        region_code=data["county_code"],
        household_id=None,
        data=data,
    )


async def payment_event(
    session: AsyncSession, payment: BaseModel, region_code: str, type_: str = "payment.created"
) -> None:
    """``payment``: its ``PaymentRead`` as the county sees it (payee and accounts named; the
    feed and webhooks null them for readers who see no names)."""
    data = payment.model_dump(mode="json")
    await outbox.record(
        session,
        change_log,
        HUB.service,
        type_=type_,
        entity_id=data["id"],
        region_code=region_code,
        household_id=data.get("household_id"),
        data=data,
    )


async def state_event(
    session: AsyncSession, type_: str, state: BaseModel, region_code: str
) -> None:
    """An entity whose state names no person (a fund, an allocation, an asset...): its whole
    state as GET shows it, with its version."""
    data = state.model_dump(mode="json")
    await outbox.record(
        session,
        change_log,
        HUB.service,
        type_=type_,
        entity_id=data["id"],
        region_code=region_code,
        household_id=None,
        data=data,
    )
