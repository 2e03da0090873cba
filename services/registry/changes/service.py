"""The change feed: every registry write leaves one change-log entry in its own transaction,
so partners and the monitoring service never miss or double-see a change."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.changes.repository import ChangeRepository
from services.registry.database import change_log
from services.registry.webhooks.hub import HUB as WEBHOOKS  # registered wherever it writes
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


def parse_cursor(after: str | None) -> tuple[int, int]:
    """``after`` is opaque to clients: (xid, seq) of the last event served."""
    if after is None or after == START:
        return 0, 0
    try:
        values = decode_cursor(after)
    except ValidationFailed:
        values = []
    if (
        len(values) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        or min(values) < 0
        or max(values) >= 2**63  # bigint columns
    ):
        raise ValidationFailed.field(
            "after", "is not a cursor this API issued", code="cursor.invalid"
        )
    return values[0], values[1]


async def list_changes(
    session: AsyncSession, principal: Principal, after: str | None, limit: int
) -> str:
    """One page of the feed in the caller's region, in commit-safe (xid, seq) order, as the
    JSON of a ``ChangePage``."""
    principal.ensure_role(*FEED_ROLES)
    after_xid, after_seq = parse_cursor(after)
    items, last_xid, last_seq = await ChangeRepository(session).page_json(
        after_xid,
        after_seq,
        principal.region_prefix,
        limit,
        principal,
    )
    if last_xid is not None and last_seq is not None:
        next_cursor = encode_cursor([last_xid, last_seq])
    else:
        next_cursor = after if after else START
    # The cursor is base64url: safe inside a JSON string as is.
    return f'{{"items":{items},"next_cursor":"{next_cursor}"}}'


async def feed_position(session: AsyncSession, principal: Principal) -> str:
    """The cursor after the last change committed so far in the caller's region: a reader
    whose cursor has reached it has seen every change committed before this call."""
    principal.ensure_role(*FEED_ROLES)
    last = await ChangeRepository(session).position(principal.region_prefix)
    return encode_cursor(list(last)) if last is not None else START
