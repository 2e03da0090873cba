"""Registry webhooks: the change feed's events, named ``<entity>.<op>`` (``household.created``,
``member.departed``...), each delivered with the feed item as ``data`` and its feed cursor,
so a partner that missed deliveries resumes with ``GET /v1/changes?after=<cursor>``."""

from services.registry.changes.repository import feed_data_sql
from services.registry.database import Base
from services.registry.database import outbox as job_outbox
from shared.webhooks.hub import Source, mount

EVENT_TYPES = frozenset(
    {
        "household.created",
        "household.updated",
        "household.deleted",
        "member.created",
        "member.updated",
        "member.departed",
        "member.deleted",
        "economics.created",
        "economics.updated",
        "economics.deleted",
        "guarantee.created",
        "guarantee.updated",
        "guarantee.deleted",
        "measure.created",
        "measure.updated",
        "measure.deleted",
    }
)

# The feed's cursor after an event (``shared.pagination.encode_cursor([position])``, made by
# PostgreSQL): pass it as ``after`` to read the feed on from just past this event.
_CURSOR = (
    "rtrim(translate(encode(convert_to('[' || ev.position::text || ']', "
    "'UTF8'), 'base64'), '+/' || chr(10), '-_'), '=')"
)


def _data(strip_names: bool, mask_ids: bool) -> str:
    return (
        "json_build_object('seq', ev.seq, 'entity', ev.entity, 'entity_id', ev.entity_id, "
        "'household_id', ev.household_id, 'region_code', ev.region_code, 'op', ev.op, "
        f"'at', ev.at, 'data', {feed_data_sql(strip_names, mask_ids)}, 'cursor', {_CURSOR})"
    )


HUB = mount(
    "registry",
    Base,
    job_outbox,
    EVENT_TYPES,
    Source(
        table="registry.change_log",
        data_sql=_data,
    ),
)
