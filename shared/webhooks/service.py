"""Webhook rules: who may subscribe to what and where, the dispatcher's pass and a
subscription's delivery run. Never commits (the request or the job does)."""

import asyncio
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession

from shared import regions
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.i18n import t
from shared.settings import Settings
from shared.webhooks import delivery, signing, targets
from shared.webhooks.hub import HUBS, SUBSCRIBER_ROLES, Hub
from shared.webhooks.repository import WebhookRepository
from shared.webhooks.schemas import Delivery, WebhookCreate, WebhookCreated

DISPATCH_JOB = "webhooks_dispatch"
DELIVER_JOB = "webhooks_deliver"
PAGE = 2000  # events per dispatcher pass
BATCH = 200  # deliveries per claim
LEASE = timedelta(minutes=2)
KICK_WINDOW_S = 0.25

# Every message of this module, in one place.
ALL_EVENTS = "*"
UNKNOWN_EVENT = "unknown event type {event} (known: {known})"
STAR_ALONE = 'use ["*"] alone for every event'
REGION_NOT_CODE = "must be a 12-digit region code"
REGION_OUTSIDE = "is outside your region"
WEBHOOK_NOT_FOUND = "webhook not found"
DELIVERY_NOT_FOUND = "delivery not found"
DELIVERY_PENDING = "this delivery is already waiting for its next attempt"
DELIVERY_DROPPED = "this delivery was dropped when its owner's rights changed; it cannot be sent"
DISABLED_REASON = "disabled: every delivery failed since {since} (last: {last})"


# -- the API --------------------------------------------------------------------------------


async def subscribe(
    session: AsyncSession,
    hub: Hub,
    settings: Settings,
    principal: Principal,
    body: WebhookCreate,
) -> WebhookCreated:
    principal.ensure_role(*SUBSCRIBER_ROLES)
    events = _checked_events(hub, body.events)
    region = body.region_code or principal.region_code
    if not regions.is_valid_code(region):
        raise ValidationFailed.field("region_code", REGION_NOT_CODE)
    if not principal.covers(region):
        raise ValidationFailed.field("region_code", REGION_OUTSIDE)
    try:
        target = await targets.resolve(body.url, settings)
        await targets.check_reachable(target)
    except targets.TargetRefused as exc:
        raise ValidationFailed.field("url", exc.args[0]) from None
    secret = signing.new_secret()
    repo = WebhookRepository(session, hub)
    subscription = repo.add(
        hub.subscription(
            owner=principal.sub,
            client_id=principal.client_id,
            role=principal.role.value,
            region_code=region,
            region_prefix=regions.prefix_of(region),
            url=body.url,
            events=events,
            secret=secret,
            status="active",
        )
    )
    await repo.ensure_cursor()
    await session.flush()
    return WebhookCreated(id=subscription.id, secret=secret)


def _checked_events(hub: Hub, events: Sequence[str]) -> list[str]:
    if ALL_EVENTS in events:
        if len(events) > 1:
            raise ValidationFailed.field("events", STAR_ALONE)
        return [ALL_EVENTS]
    known = ", ".join(sorted(hub.event_types))
    for i, event in enumerate(events):
        if event not in hub.event_types:
            message = t(UNKNOWN_EVENT, "webhook.unknown_event", event=event, known=known)
            raise ValidationFailed.field(f"events.{i}", message)
    return list(dict.fromkeys(events))


async def own_subscription(session: AsyncSession, hub: Hub, principal: Principal, id_: UUID) -> Any:
    """The caller's subscription; anyone else's is 404, as if it did not exist."""
    subscription = await WebhookRepository(session, hub).subscription(id_, principal.sub)
    if subscription is None:
        raise NotFound(WEBHOOK_NOT_FOUND)
    return subscription


async def list_subscriptions(
    session: AsyncSession, hub: Hub, principal: Principal, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    return await WebhookRepository(session, hub).subscriptions_of(principal.sub, cursor, limit)


async def unsubscribe(session: AsyncSession, hub: Hub, principal: Principal, id_: UUID) -> None:
    subscription = await own_subscription(session, hub, principal, id_)
    await WebhookRepository(session, hub).delete_subscription(subscription.id)


def delivery_read(row: Any) -> Delivery:
    return Delivery.model_validate(
        {
            **{k: getattr(row, k) for k in Delivery.model_fields if hasattr(row, k)},
            "webhook_id": signing.message_id(row.id),
        }
    )


async def list_deliveries(
    session: AsyncSession,
    hub: Hub,
    principal: Principal,
    id_: UUID,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Delivery], str | None]:
    subscription = await own_subscription(session, hub, principal, id_)
    rows, next_cursor = await WebhookRepository(session, hub).deliveries_of(
        subscription.id, status, cursor, limit
    )
    return [delivery_read(r) for r in rows], next_cursor


async def redeliver(
    session: AsyncSession,
    hub: Hub,
    settings: Settings,
    principal: Principal,
    id_: UUID,
    delivery_id: UUID,
) -> Delivery:
    """Send a delivery again now (the same ``webhook-id``), with a fresh retry window. Also
    for a disabled subscription: a success re-activates it."""
    subscription = await own_subscription(session, hub, principal, id_)
    row = await WebhookRepository(session, hub).delivery(subscription.id, delivery_id)
    if row is None:
        raise NotFound(DELIVERY_NOT_FOUND)
    if row.status == "pending" and row.attempts == 0:
        raise Conflict(DELIVERY_PENDING)
    if row.body == "":  # dropped by ``owners``: prepared for rights the owner no longer has
        raise Conflict(DELIVERY_DROPPED)
    row = await WebhookRepository(session, hub).redeliver(
        row.id, timedelta(hours=settings.webhook_retry_hours)
    )
    kick_delivery(session, hub, subscription.id)
    return delivery_read(row)


# -- kicks: run the dispatcher or a delivery job once this transaction commits --------------


def kick(session: AsyncSession, service: str) -> None:
    """This transaction wrote events of ``service``: have them dispatched after its commit.

    Kicks are gathered in windows of ``KICK_WINDOW_S``: every transaction committing in one
    window sends the same job id, run once the window has closed. So the dispatcher runs a
    few times a second however many transactions commit, and a kick is never refused by a
    run already past its last look (ARQ refuses a job id while a job of that id runs)."""
    kicked: set[str] = session.info.setdefault("webhook_kicks", set())
    if service in kicked:
        return
    kicked.add(service)
    now = time.time()
    window = int(now / KICK_WINDOW_S)
    HUBS[service].job_outbox.defer(
        session,
        DISPATCH_JOB,
        service,
        job_id=f"{DISPATCH_JOB}:{service}:{window}",
        defer_by_s=(window + 1) * KICK_WINDOW_S - now,
    )


def kick_delivery(session: AsyncSession, hub: Hub, subscription_id: UUID) -> None:
    hub.job_outbox.defer(session, DELIVER_JOB, hub.service, str(subscription_id))


# -- the dispatcher ---------------------------------------------------------------------------


async def dispatch_pass(
    session: AsyncSession, hub: Hub, settings: Settings
) -> tuple[int, bool, list[UUID]]:
    """Fan one page of committed events out into deliveries, and move the cursor past it.
    Returns the events read, whether more wait beyond the page (never: a full page is
    followed by another pass anyway, and an event committing later kicks its own), and the
    subscriptions that got deliveries (to be run once this transaction commits). Events go
    by the change log's ``position``: commit order, so one record's versions are delivered
    in increasing order."""
    repo = WebhookRepository(session, hub)
    after = await repo.lock_cursor()
    if after is None:  # no subscription ever: nothing to fan out to
        return 0, False, []
    fan, last = await repo.fan_out(after, PAGE, timedelta(hours=settings.webhook_retry_hours))
    if last is not None:
        await repo.move_cursor(last)
    return fan.events, False, fan.subscriptions


# -- one subscription's deliveries -----------------------------------------------------------


async def claim(session: AsyncSession, hub: Hub, subscription_id: UUID) -> tuple[Any, list[Any]]:
    repo = WebhookRepository(session, hub)
    subscription = await repo.lock_subscription(subscription_id)
    if subscription is None:
        return None, []
    return subscription, await repo.claim(subscription_id, BATCH, LEASE)


async def send_all(
    client: aiohttp.ClientSession, settings: Settings, subscription: Any, claimed: list[Any]
) -> list[delivery.Attempt]:
    """POST every claimed delivery, at most ``webhook_concurrency`` at a time. The target is
    checked again first (the operator's rules may have changed; the client's resolver vets
    each address it connects to)."""
    try:
        await targets.resolve(subscription.url, settings)
    except targets.TargetRefused as exc:
        at = utcnow()
        return [delivery.Attempt(c.id, at, False, None, 0, str(exc)) for c in claimed]
    gate = asyncio.Semaphore(max(1, settings.webhook_concurrency))

    async def one(c: Any) -> delivery.Attempt:
        async with gate:
            return await delivery.send(client, subscription.url, subscription.secret, c.id, c.body)

    return list(await asyncio.gather(*(one(c) for c in claimed)))


async def record(
    session: AsyncSession,
    hub: Hub,
    settings: Settings,
    subscription: Any,
    claimed: list[Any],
    attempts: list[delivery.Attempt],
) -> None:
    """Log each attempt, schedule retries, and keep the subscription's health: the first
    failure after a success starts ``failing_since``; a success clears it (and re-activates
    a disabled subscription); failing for ``webhook_disable_after_hours`` disables it."""
    repo = WebhookRepository(session, hub)
    made_before = {c.id: c.attempts for c in claimed}
    waits = [
        None if a.ok else delivery.next_wait(made_before.get(a.delivery_id, 0) + 1)
        for a in attempts
    ]
    await repo.record(attempts, waits)
    current = await repo.lock_subscription(subscription.id)
    if current is None:
        return
    succeeded = [a for a in attempts if a.ok]
    if succeeded:
        if current.failing_since is not None or current.status != "active":
            await repo.set_health(current.id, None, "active", None)
        return
    last = attempts[-1]
    since = current.failing_since or min(a.at for a in attempts)
    if current.status == "active":
        if utcnow() - since >= timedelta(hours=settings.webhook_disable_after_hours):
            reason = DISABLED_REASON.format(since=since.isoformat(), last=last.error)
            await repo.set_health(current.id, since, "disabled", reason[:500])
            await repo.give_up_pending(current.id, reason[:500])
        elif current.failing_since is None:
            await repo.set_health(current.id, since, "active", None)
