"""The change feed: every registry write leaves one change-log entry in its own transaction,
so partners and the monitoring service never miss or double-see a change."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.changes.repository import ChangeRepository
from services.registry.database import change_log
from services.registry.webhooks import HUB as WEBHOOKS  # registered wherever it writes
from shared.audit import to_jsonable
from shared.auth import Principal, Role
from shared.contracts.registry import ChangeEntity, ChangeOp
from shared.errors import ValidationFailed
from shared.pagination import decode_cursor, encode_cursor
from shared.webhooks import service as webhook_service

FEED_ROLES = (
    Role.service,
    Role.department,
    Role.province_admin,
    Role.county_officer,
    Role.auditor,
)
START = "0"


async def publish(
    session: AsyncSession,
    principal: Principal,
    *,
    entity: ChangeEntity,
    entity_id: Any,
    household_id: UUID,
    region_code: str,
    op: ChangeOp,
    data: Any,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    action: str | None = None,
) -> None:
    """What every registry write leaves, in the caller's transaction: one change-log entry
    with who acted, the changed fields (``new`` defaults to the snapshot) and the entity's
    snapshot after the change (``data``, a contract model from ``shared.contracts.registry``)
    that the feed and the webhooks publish."""
    await change_log.record(
        session,
        principal,
        action=action or op.value,
        entity=entity.value,
        entity_id=entity_id,
        household_id=household_id,
        region_code=region_code,
        old=old,
        new=new if new is not None else to_jsonable(data),
        op=op.value,
        data=data,
    )
    webhook_service.kick(session, WEBHOOKS.service)


def parse_cursor(after: str | None) -> tuple[int, ...]:
    """``after`` is opaque to clients: the position of the last event served, or (xid, seq)
    of it in a cursor issued before positions existed (translated by ``position_after``)."""
    if after is None or after == START:
        return (0,)
    try:
        values = decode_cursor(after)
    except ValidationFailed:
        values = []
    if (
        len(values) not in (1, 2)
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        or min(values) < 0
        or max(values) >= 2**63  # bigint columns
    ):
        raise _invalid_cursor()
    return tuple(values)


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed.field("after", "is not a cursor this API issued", code="cursor.invalid")


async def position_after(repo: ChangeRepository, after: str | None) -> int:
    """The feed position a cursor stands at. An (xid, seq) cursor a partner kept from before
    the feed was numbered in commit order names an event numbered in that old order: its
    position is the same place."""
    values = parse_cursor(after)
    if len(values) == 1:
        return values[0]
    if values == (0, 0):
        return 0
    position = await repo.legacy_position(values[0], values[1])
    if position is None:
        raise _invalid_cursor()
    return position


async def list_changes(
    session: AsyncSession, principal: Principal, after: str | None, limit: int
) -> str:
    """One page of the feed in the caller's region, in commit order (the change log's
    ``position``), as the JSON of a ``ChangePage``."""
    principal.ensure_role(*FEED_ROLES)
    repo = ChangeRepository(session)
    start = await position_after(repo, after)
    items, last = await repo.page_json(start, principal.region_prefix, limit, principal)
    if last is not None:
        next_cursor = encode_cursor([last])
    elif after and len(parse_cursor(after)) == 1:
        next_cursor = after
    else:
        next_cursor = encode_cursor([start]) if start else START
    # The cursor is base64url: safe inside a JSON string as is.
    return f'{{"items":{items},"next_cursor":"{next_cursor}"}}'


async def feed_position(session: AsyncSession, principal: Principal) -> str:
    """The cursor after the last change committed so far in the caller's region: a reader
    whose cursor has reached it has seen every change committed before this call."""
    principal.ensure_role(*FEED_ROLES)
    last = await ChangeRepository(session).position(principal.region_prefix)
    return encode_cursor([last]) if last is not None else START
