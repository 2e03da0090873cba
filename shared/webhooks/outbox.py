"""The webhook events of a service without a change feed (monitoring, funds): published
entries of its change log (``shared.changelog``), written in the same transaction as the
change they describe and read by the dispatcher like the registry's feed, in commit order. An event type ``<entity>.<op>`` is stored as its entity and op."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from shared.changelog import ChangeLog
from shared.changelog.feed import Feed
from shared.webhooks import service
from shared.webhooks.hub import Source

# The actor of an event no request made (a scan's alerts); an event a request made has its
# own audit entry naming who acted.
SYSTEM = "system"


def source(feed: Feed) -> Source:
    """Deliveries carry the event's ``data`` and its sequence number, shown by the rules of
    the service's feed: a subscriber whose role sees no names gets them as null, one who sees
    no full ID numbers gets them (and the free text naming them) masked, each only in the
    entities that have such fields (as GET and the feed show them); and an entity its role
    may not read is never delivered."""

    def data(strip_names: bool, mask: bool) -> str:
        shown = feed.shown_sql(strip_names, mask, "ev.data", "ev.entity")
        return f"({shown} || jsonb_build_object('seq', ev.seq))"

    readers = {entity: tuple(r.value for r in roles) for entity, roles in feed.readers.items()}
    return Source(table=feed.table, data_sql=data, readers=readers)


async def record(
    session: AsyncSession,
    log: ChangeLog,
    service_name: str,
    *,
    type_: str,
    entity_id: Any,
    region_code: str,
    household_id: UUID | None,
    data: dict[str, Any],
) -> None:
    """One event, in the caller's transaction; the dispatcher runs after its commit."""
    entity, op = type_.split(".", 1)
    await log.record(
        session,
        None,
        action=type_,
        entity=entity,
        entity_id=entity_id,
        region_code=region_code,
        household_id=household_id,
        op=op,
        data=data,
    )
    service.kick(session, service_name)


def insert_sql(schema: str, type_: str, rows: str, data_sql: str) -> str:
    """A change-log INSERT for a set-based statement: one event ``type_`` per row of ``rows``
    (a CTE with ``id``, ``household_id`` and ``region_code``)."""
    entity, op = type_.split(".", 1)
    return (
        f"INSERT INTO {schema}.change_log (actor, actor_role, action, entity, entity_id, "
        f"household_id, region_code, op, data) "
        f"SELECT '{SYSTEM}', '{SYSTEM}', '{type_}', '{entity}', r.id::text, r.household_id, "
        f"r.region_code, '{op}', {data_sql} FROM {rows} r"
    )
