"""The webhook hub: what a service hands the shared webhook machinery is only its event types
and the source its events come from (``mount``); the tables are made here."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import DeclarativeBase

from shared.auth import Principal, Role
from shared.outbox import Outbox
from shared.webhooks.models import tables


def past_tense(op_sql: str) -> str:
    """``create`` -> ``created``...: events are named ``<entity>.<op, past tense>``."""
    return (
        f"CASE {op_sql} WHEN 'create' THEN 'created' WHEN 'update' THEN 'updated' "
        f"WHEN 'depart' THEN 'departed' WHEN 'delete' THEN 'deleted' ELSE {op_sql} END"
    )


@dataclass(frozen=True)
class Source:
    """A service's change log (``shared.changelog``): its published entries, in commit
    order (``position``).

    ``type_sql`` is the event type over the table's columns (alias ``ev``); ``data_sql``
    the body's ``data`` as a viewer may see it, given (strip_names, mask_ids)."""

    table: str
    data_sql: Callable[[bool, bool], str]
    # ``<entity>.<op, past tense>``: ``household.created``, ``alert.raised``...
    type_sql: str = f"ev.entity || '.' || {past_tense('ev.op')}"
    # Per entity the roles (values) that may read it: other subscribers never get its events.
    readers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Hub:
    service: str
    schema: str
    subscription: type[Any]
    delivery: type[Any]
    cursor: type[Any]
    event_types: frozenset[str]
    source: Source
    job_outbox: Outbox  # the service's job outbox: kicks are sent after their commit

    @property
    def redis_key(self) -> str:
        return f"webhooks:{self.service}"


HUBS: dict[str, Hub] = {}

# Who may subscribe: a department's system or a province administrator (a client's token
# also needs the ``webhooks:manage`` scope).
SUBSCRIBER_ROLES = (Role.department, Role.province_admin)


def register(hub: Hub) -> Hub:
    HUBS[hub.service] = hub
    return hub


def mount(
    service: str,
    base: type[DeclarativeBase],
    job_outbox: Outbox,
    event_types: frozenset[str],
    source: Source,
) -> Hub:
    """A service's hub: its webhook tables in its own schema (``base``), its event types and
    the source of its events, registered for the dispatcher and the delivery jobs."""
    schema = base.metadata.schema
    assert schema is not None, "a service's declarative base names its schema"
    made = tables(base)
    return register(
        Hub(
            service=service,
            schema=schema,
            subscription=made.subscription,
            delivery=made.delivery,
            cursor=made.cursor,
            event_types=event_types,
            source=source,
            job_outbox=job_outbox,
        )
    )


def masking(role: str) -> tuple[bool, bool]:
    """(strip_names, mask_ids) for a subscriber of ``role``: the change feed's own rules."""
    viewer = Principal(sub="", role=Role(role), region_code="")
    return not viewer.sees_names, not viewer.sees_full_id_numbers
