"""The outbox of a service without a change feed (monitoring, funds): events written in the
same transaction as the change they describe (``WebhookEventMixin``), read by the dispatcher
like the registry's feed, below the commit horizon."""

from typing import Any
from uuid import UUID

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit import to_jsonable
from shared.webhooks import service
from shared.webhooks.hub import Source


def source(schema: str, name_fields: tuple[str, ...] = ()) -> Source:
    """Deliveries carry the event's ``data`` and its sequence number. ``name_fields`` may
    name a person (a payee): a subscriber whose role sees no names gets them removed."""

    def data(strip_names: bool, _mask: bool) -> str:
        value = "ev.data"
        if strip_names and name_fields:
            value = f"(ev.data - CAST(ARRAY{list(name_fields)!r} AS text[]))"
        return f"({value} || jsonb_build_object('seq', ev.seq))"

    return Source(
        table=f"{schema}.webhook_events", xid_type="bigint", type_sql="ev.type", data_sql=data
    )


async def record(
    session: AsyncSession,
    model: type[Any],
    service_name: str,
    *,
    type_: str,
    entity_id: Any,
    region_code: str,
    household_id: UUID | None,
    data: dict[str, Any],
) -> None:
    """One event, in the caller's transaction; the dispatcher runs after its commit."""
    await session.execute(
        insert(model).values(
            type=type_,
            entity_id=str(entity_id),
            household_id=household_id,
            region_code=region_code,
            data=to_jsonable(data),
        )
    )
    service.kick(session, service_name)


def insert_sql(schema: str, type_sql: str, rows: str, data_sql: str) -> str:
    """An outbox INSERT for a set-based statement: one event per row of ``rows`` (a CTE with
    ``id``, ``household_id`` and ``region_code``)."""
    return (
        f"INSERT INTO {schema}.webhook_events (type, entity_id, household_id, region_code, data) "
        f"SELECT {type_sql}, r.id::text, r.household_id, r.region_code, {data_sql} FROM {rows} r"
    )
