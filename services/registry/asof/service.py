"""``as_of``: what the registry held at a moment, from the change log (``repository.py``),
shown to today's reader by today's rules (scope and masking, as ``households/router.py``).

The answer stands on the newest change-log entry it uses: ``Povguard-As-Of-Position`` and
``Povguard-As-Of-Seq`` name it. Reading by ``committed_at`` (the commit step's clock) and
ordering by ``position`` keeps out an entry whose transaction began before the moment but
committed after it. A moment later than now is refused: the registry cannot say what it will
hold. Like today's GET it reads the replica when one is well (shared.replica): a moment
within the replica's lag may not see every entry committed by then."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.asof.repository import AsOfRepository
from shared.auth import Principal
from shared.contracts.registry import HouseholdSnapshot, MemberSnapshot, Relation
from shared.errors import NotFound, ValidationFailed
from shared.i18n import t
from shared.pagination import decode_cursor, encode_cursor
from shared.params import check_as_of

AS_OF_POSITION, AS_OF_SEQ = "Povguard-As-Of-Position", "Povguard-As-Of-Seq"


@dataclass(frozen=True)
class Entry:
    """The change-log entry an answer stands on (the newest it uses)."""

    position: int
    seq: int

    def headers(self) -> dict[str, str]:
        return {AS_OF_POSITION: str(self.position), AS_OF_SEQ: str(self.seq)}


def _newest(rows: list[Any]) -> Entry | None:
    if not rows:
        return None
    row = max(rows, key=lambda r: r.position)
    return Entry(position=row.position, seq=row.seq)


def _household_dict(row: Any) -> dict[str, Any]:
    """A household entry's state as a read shows it (older entries lack the times)."""
    state = HouseholdSnapshot.model_validate(row.data).model_dump()
    state["created_at"] = state["created_at"] or row.first_committed
    state["updated_at"] = state["updated_at"] or state["created_at"]
    return state


async def household(
    session: AsyncSession, principal: Principal, household_id: UUID, moment: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]], Entry]:
    """The household and its members (departed ones included) as they stood at ``moment``;
    404 when it did not exist yet or lies outside the reader's region today."""
    rows = await AsOfRepository(session).household(household_id, check_as_of(moment))
    home = next((r for r in rows if r.entity == "household"), None)
    if home is None or not principal.covers(home.region_code):
        raise NotFound(
            t(
                "household {household_id} not found as of {as_of}",
                "household.not_found_as_of",
                household_id=household_id,
                as_of=moment.isoformat(),
            )
        )
    members = sorted(
        (r for r in rows if r.entity == "member"),
        key=lambda r: (r.data.get("relation") != Relation.head.value, r.first_position),
    )
    entry = _newest(rows)
    assert entry is not None
    member_states = [MemberSnapshot.model_validate(m.data).model_dump() for m in members]
    return _household_dict(home), member_states, entry


async def households(
    session: AsyncSession,
    *,
    region_prefix: str,
    moment: datetime,
    category: str | None,
    at_risk: bool | None,
    household_no: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None, Entry | None]:
    """A page of the region's households as they stood at ``moment``, in today's list's
    order; the entry is the newest of the page's."""
    after = _after(cursor)
    rows = await AsOfRepository(session).households(
        region_prefix=region_prefix,
        moment=check_as_of(moment),
        category=category,
        at_risk=at_risk,
        household_no=household_no,
        after=after,
        limit=limit + 1,
    )
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor([page[-1].region_code, page[-1].id]) if more else None
    return [_household_dict(r) for r in page], next_cursor, _newest(page)


async def household_stats(
    session: AsyncSession, *, region_prefix: str, moment: datetime, child_len: int | None
) -> tuple[dict[str, Any], Entry | None]:
    """The region's households as they stood at ``moment``, counted by category and per
    child region (``child_len``: the child level's prefix length; none below a village);
    the entry is the newest of those counted."""
    rows = await AsOfRepository(session).household_counts(
        region_prefix=region_prefix, moment=check_as_of(moment), child_len=child_len or 12
    )
    by_category: dict[str, int] = {}
    children: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_category[row.category] = by_category.get(row.category, 0) + row.households
        if child_len is not None:
            child = children.setdefault(
                row.child,
                {
                    "region_code": row.child.ljust(12, "0"),
                    "households": 0,
                    "monitored_households": 0,
                },
            )
            child["households"] += row.households
            if row.category == "monitored":
                child["monitored_households"] += row.households
    newest = max(rows, key=lambda r: r.position, default=None)
    entry = Entry(position=newest.position, seq=newest.seq) if newest is not None else None
    stats = {
        "households_by_category": by_category,
        "children": sorted(children.values(), key=lambda c: c["region_code"]),
    }
    return stats, entry


def _after(cursor: str | None) -> tuple[str, UUID] | None:
    if cursor is None:
        return None
    values = decode_cursor(cursor)
    if len(values) != 2 or not isinstance(values[0], str) or not isinstance(values[1], UUID):
        raise ValidationFailed.field(
            "cursor", "is not a cursor this API issued", code="cursor.invalid"
        )
    return values[0], values[1]
