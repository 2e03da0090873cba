"""A subscription acts for its owner at every delivery: the owner as it stands now, not as it
stood when it subscribed.

Before each dispatcher pass (every active subscription of the service) and before each
delivery run (that one subscription), the owners' standing is read from the account states
the registry publishes (``shared.accounts``; two Redis reads for any number of owners):

- a revoked client or a deactivated account gets nothing more: the subscription is disabled
  and its waiting deliveries are dropped, the reason in the delivery log;
- an owner whose role or region changed acts with its current ones: the subscription's
  region shrinks to what the owner still covers (disabled when nothing is left), later events
  are masked for its current role, and deliveries prepared for the old, wider rights are
  dropped.

An owner the registry has not published (Redis restarted and not yet refilled, or a token a
service minted for itself) passes, as its tokens do."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from shared import accounts, regions
from shared.settings import Settings
from shared.webhooks.hub import Hub, masking
from shared.webhooks.repository import WebhookRepository

# Every message of this module, in one place (kept in the delivery log and the subscription).
OWNER_GONE = "dropped: the subscription's owner was revoked or deactivated"
OWNER_OUTSIDE = "disabled: the owner's region no longer covers the subscription's region"
OWNER_NARROWED = "dropped: the owner's role or region was narrowed after this event was prepared"


@dataclass(frozen=True)
class Narrowed:
    subscription_id: UUID
    role: str
    region_code: str
    drop_reason: str | None  # set when deliveries prepared for the old rights must go


def account_key(subscription: Any) -> str:
    """The owner as ``shared.accounts`` names it (a client, or a person by user name)."""
    if subscription.client_id is not None:
        return accounts.client_key(subscription.client_id)
    return accounts.user_key(subscription.owner)


async def enforce(
    session: AsyncSession,
    hub: Hub,
    redis: Any,
    settings: Settings,
    subscription_id: UUID | None = None,
) -> None:
    """Bring the service's active subscriptions (or one) in line with their owners."""
    repo = WebhookRepository(session, hub)
    subscriptions = await repo.active_owners(subscription_id)
    if not subscriptions:
        return
    keys = [account_key(s) for s in subscriptions]
    known = await accounts.standings(redis, settings, sorted(set(keys)))
    gone: list[tuple[UUID, str]] = []
    narrowed: list[Narrowed] = []
    for subscription, key in zip(subscriptions, keys, strict=True):
        standing = known.get(key)
        if standing is None:
            continue
        if not standing.active:
            gone.append((subscription.id, OWNER_GONE))
        elif standing.role is not None and standing.region_code is not None:
            change = _narrowing(subscription, standing.role, standing.region_code)
            if isinstance(change, str):
                gone.append((subscription.id, change))
            elif change is not None:
                narrowed.append(change)
    await repo.disable_for_owner(gone)
    await repo.narrow(narrowed)


def _narrowing(subscription: Any, role: str, region: str) -> Narrowed | str | None:
    """What the owner's current role and region make of the subscription: nothing to change,
    a narrower one, or (a reason) none at all."""
    covered = subscription.region_code.startswith(regions.prefix_of(region))
    if role == subscription.role and covered:
        return None
    if covered:
        new_region = subscription.region_code
    elif region.startswith(regions.prefix_of(subscription.region_code)):
        new_region = region  # the owner now covers only part of the subscription's region
    else:
        return OWNER_OUTSIDE
    old_strip, old_mask = masking(subscription.role)
    new_strip, new_mask = masking(role)
    stricter = (new_strip and not old_strip) or (new_mask and not old_mask)
    drop = OWNER_NARROWED if stricter or new_region != subscription.region_code else None
    return Narrowed(subscription.id, role, new_region, drop)
