"""``GET /v1/changes`` and ``/v1/changes/position`` of monitoring and funds: their change
logs' published entries, with the registry feed's cursor, scope and masking rules.

Events come in commit order (the change log's ``position``), so one record's versions only
increase along the feed; ``data`` is the entity's whole state after the change, as its GET
shows it (the same Read model wrote it), with the fields a reader may not see set to null."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared import idnumber, pii
from shared.auth import CurrentPrincipal, Principal, Role, Scope, require_scope
from shared.changelog.repository import FeedRepository
from shared.db import SessionDep
from shared.errors import Forbidden, ValidationFailed, problem_responses
from shared.pagination import decode_cursor, encode_cursor
from shared.replica.web import ReplicaSessionDep

# Who reads a feed: as the registry's.
FEED_ROLES = (
    Role.service,
    Role.department,
    Role.province_admin,
    Role.county_officer,
    Role.auditor,
)
START = "0"


# The key of an event's ``data`` holding its free text as readers below the county read it
# (ID and phone numbers masked by ``shared.pii``, in Python: no SQL regex to keep in step);
# no reader ever sees the key itself.
MASKED_TEXT = "_masked_text"


def with_masked_text(data: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """``data`` (an event's, as JSON) carrying its free-text ``fields`` masked too."""
    return {**data, MASKED_TEXT: {name: pii.masked_text(data[name]) for name in fields}}


@dataclass(frozen=True)
class Feed:
    """A service's feed: its change log table, and per entity the fields of ``data`` that
    name a person (nulled for readers who see no names, as GET nulls them).

    The same rules shape its webhooks (``shared.webhooks.outbox.source``)."""

    table: str
    entities: Mapping[str, str]  # entity -> the schema name of its ``data`` (for the docs)
    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Per entity the fields of ``data`` holding an ID number (masked below the county).
    id_numbers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Entities whose ``data`` carries its free text masked (``with_masked_text``).
    masked_text: frozenset[str] = frozenset()
    # Per entity the roles its GET answers: other readers never see its events (a
    # department reads monitoring's feed, but no self-declarations).
    readers: Mapping[str, tuple[Role, ...]] = field(default_factory=dict)

    def hidden(self, role: Role) -> list[str]:
        """The entities a reader of ``role`` gets no events of."""
        return sorted(entity for entity, roles in self.readers.items() if role not in roles)

    def data_sql(self, principal: Principal) -> str:
        return self.shown_sql(
            not principal.sees_names, not principal.sees_full_id_numbers, "data", "entity"
        )

    def shown_sql(self, strip_names: bool, mask_ids: bool, data: str, entity: str) -> str:
        """The SQL of an event's ``data`` (the ``jsonb`` expression ``data`` of an entry
        whose entity is ``entity``) as a reader who sees no names (``strip_names``) or no
        full ID numbers (``mask_ids``) may see it."""
        whens = []
        for name in sorted({*self.names, *self.id_numbers, *self.masked_text}):
            shown, parts = data, []
            if name in self.masked_text:
                shown = f"({data} - '{MASKED_TEXT}')"
                if mask_ids:
                    parts.append(f"({data} -> '{MASKED_TEXT}')")
            if strip_names and name in self.names:
                nulls = ", ".join(f"'{column}', NULL" for column in self.names[name])
                parts.append(f"jsonb_build_object({nulls})")
            if mask_ids and name in self.id_numbers:
                parts.append(idnumber.masked_fields_sql(data, self.id_numbers[name]))
            if shown != data or parts:
                whens.append(f"WHEN '{name}' THEN " + " || ".join([shown, *parts]))
        if not whens:
            return data
        return f"CASE {entity} {' '.join(whens)} ELSE {data} END"


class FeedEvent(BaseModel):
    seq: int = Field(description="The entry's number in the change log (not the feed order).")
    entity: str
    entity_id: str
    household_id: UUID | None
    region_code: str
    op: str = Field(description="`create`, `update` or the step taken (`raised`, `approve`...).")
    at: datetime
    data: dict[str, Any] = Field(
        description="The entity's whole state after the change, with its `version`: its GET's "
        "Read schema, field for field."
    )


class FeedPage(BaseModel):
    items: list[FeedEvent]
    next_cursor: str = Field(description="Pass as `after` to continue; stable across calls.")


class FeedPositionRead(BaseModel):
    position: str = Field(
        description="The cursor after the last change committed so far (opaque, like next_cursor)."
    )


def parse_cursor(after: str | None) -> int:
    """``after`` is opaque to clients: the position of the last event served."""
    if after is None or after == START:
        return 0
    try:
        values = decode_cursor(after)
    except ValidationFailed:
        values = []
    if (
        len(values) != 1
        or not isinstance(values[0], int)
        or isinstance(values[0], bool)
        or not 0 <= values[0] < 2**63
    ):
        raise ValidationFailed.field(
            "after", "is not a cursor this API issued", code="cursor.invalid"
        )
    return int(values[0])


async def read_changes(
    session: AsyncSession, feed: Feed, principal: Principal, after: str | None, limit: int
) -> str:
    """One page in the caller's region, in commit order, as the JSON of a ``FeedPage``."""
    principal.ensure_role(*FEED_ROLES)
    start = parse_cursor(after)
    items, last = await FeedRepository(session, feed.table).page_json(
        start, principal.region_prefix, limit, feed.data_sql(principal), feed.hidden(principal.role)
    )
    next_cursor = encode_cursor([last]) if last is not None else (after or START)
    return f'{{"items":{items},"next_cursor":"{next_cursor}"}}'


async def feed_position(session: AsyncSession, feed: Feed, principal: Principal) -> str:
    principal.ensure_role(*FEED_ROLES)
    last = await FeedRepository(session, feed.table).position(
        principal.region_prefix, feed.hidden(principal.role)
    )
    return encode_cursor([last]) if last is not None else START


def feed_router(feed: Feed, service: str) -> APIRouter:
    """The two routes of ``feed`` (tagged ``changes``)."""
    router = APIRouter(tags=["changes"])
    kinds = ", ".join(f"`{entity}` ({schema})" for entity, schema in feed.entities.items())

    @router.get(
        "/changes",
        response_model=FeedPage,
        responses=problem_responses(Forbidden, ValidationFailed),
        summary=f"The change feed: every {service} change, in commit order, in your region",
        description=(
            "Events come in the order their changes were committed, whatever the "
            "concurrency: one record's events come in the order of its `version`, so a "
            "replica that applies each event's `data` in feed order ends equal to GET. A "
            "cursor never skips or repeats an event. Start with `after` absent or `0`; pass "
            "`next_cursor` as `after` to go on (when nothing is new it is the cursor you "
            f"sent). Entities and the schema of their `data`: {kinds}. `data` is shown by "
            "the masking rule of GET: departments see no names (null). Roles: service, "
            "department, province_admin, county_officer, auditor; a registered client also "
            "needs the scope `changes:read`. Webhooks carry the same `data`."
        ),
    )
    async def list_changes(
        principal: Annotated[Principal, require_scope(Scope.changes_read)],
        session: ReplicaSessionDep,
        after: Annotated[
            str | None, Query(description="`next_cursor` of the previous page")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=10_000, description="Page size (max 10000).")] = 1000,
    ) -> Response:
        page = await read_changes(session, feed, principal, after, limit)
        return Response(page, media_type="application/json")

    @router.get(
        "/changes/position",
        response_model=FeedPositionRead,
        responses=problem_responses(Forbidden),
        summary="The feed's position now: the cursor after the last change committed so far",
        description=(
            "A reader whose cursor has reached `position` has seen every change committed "
            "in your region before this call. Roles: as for `GET /v1/changes`."
        ),
    )
    async def get_feed_position(
        principal: CurrentPrincipal, session: SessionDep
    ) -> FeedPositionRead:
        return FeedPositionRead(position=await feed_position(session, feed, principal))

    return router
