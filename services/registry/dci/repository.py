"""Every query of the DCI module: searches, households with their members, transactions,
subscriptions, deliveries and the notifier's pass over the change log."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    delete,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.dci.models import DciDelivery, DciSubscription, DciTransaction
from services.registry.households.models import Household, Member, member_order

_households = Household.__table__
_members = Member.__table__


@dataclass(frozen=True)
class Condition:
    """One predicate on a household: ``attribute`` is ``region_code`` (a region prefix),
    ``category``, ``last_updated``, ``UIN``, ``HOUSEHOLD_ID`` or ``birth_date`` (a resident
    member born between ``value`` = (earliest, latest), from the age range)."""

    attribute: str
    operator: str
    value: Any


@dataclass(frozen=True)
class Clause:
    first: Condition
    join: str | None = None  # and, or, not
    second: Condition | None = None


_COMPARE = {
    "eq": lambda c, v: c == v,
    "gt": lambda c, v: c > v,
    "ge": lambda c, v: c >= v,
    "lt": lambda c, v: c < v,
    "le": lambda c, v: c <= v,
}


def _values(condition: Condition) -> list[Any]:
    return list(condition.value) if condition.operator == "in" else [condition.value]


def _sql(condition: Condition) -> ColumnElement[bool]:
    attribute = condition.attribute
    if attribute == "region_code":
        return or_(*(Household.region_code.startswith(p) for p in _values(condition)))
    if attribute == "category":
        return Household.category.in_(_values(condition))
    if attribute == "HOUSEHOLD_ID":
        return Household.household_no.in_(_values(condition))
    if attribute == "UIN":
        # Through the unique index on id_number, then the household by its key.
        holders = select(Member.household_id).where(Member.id_number.in_(_values(condition)))
        return Household.id.in_(holders)
    if attribute == "birth_date":
        earliest, latest = condition.value
        born = [Member.household_id == Household.id, Member.departed_on.is_(None)]
        if earliest is not None:
            born.append(Member.birth_date >= earliest)
        if latest is not None:
            born.append(Member.birth_date <= latest)
        return exists().where(*born)
    if attribute == "last_updated":
        return _COMPARE[condition.operator](Household.updated_at, condition.value)
    return false()


def _clause(clause: Clause) -> ColumnElement[bool]:
    first = _sql(clause.first)
    if clause.second is None:
        return first
    second = _sql(clause.second)
    if clause.join == "or":
        return or_(first, second)
    if clause.join == "not":
        return and_(first, not_(second))
    return and_(first, second)


_SORT = {
    "household_no": Household.household_no,
    "last_updated": Household.updated_at,
    "registration_date": Household.created_at,
    "region_code": Household.region_code,
}
SORTABLE = frozenset(_SORT)


class DciRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def search(
        self,
        region_prefix: str,
        clauses: Sequence[Clause],
        sort: Sequence[tuple[str, str]],
        limit: int,
        offset: int,
        max_records: int,
    ) -> tuple[int, list[UUID]]:
        """(how many households match, capped at ``max_records`` + 1; the page's ids)."""
        where = and_(
            Household.region_code.startswith(region_prefix, autoescape=True),
            *(_clause(c) for c in clauses),
        )
        counted = select(Household.id).where(where).limit(max_records + 1).subquery()
        total = (await self.session.execute(select(func.count()).select_from(counted))).scalar_one()
        if total == 0 or total > max_records:
            return int(total), []
        order = [
            _SORT[name].desc() if direction == "desc" else _SORT[name].asc()
            for name, direction in sort
        ]
        page = select(Household.id).where(where).order_by(*order, Household.id)
        ids = (await self.session.execute(page.limit(limit).offset(offset))).scalars().all()
        return int(total), list(ids)

    async def households(
        self, ids: Sequence[UUID]
    ) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """The households (in the order of ``ids``) with their members, in two statements."""
        if not ids:
            return []
        rows = await self.session.execute(select(_households).where(_households.c.id.in_(ids)))
        found = {r.id: dict(r._mapping) for r in rows}
        members: dict[UUID, list[dict[str, Any]]] = {i: [] for i in found}
        member_rows = await self.session.execute(
            select(_members)
            .where(_members.c.household_id.in_(list(found)))
            .order_by(_members.c.household_id, *member_order(_members))
        )
        for m in member_rows:
            members[m.household_id].append(dict(m._mapping))
        return [(found[i], members[i]) for i in ids if i in found]

    # ---- transactions

    def add(self, row: Any) -> Any:
        self.session.add(row)
        return row

    async def flush(self) -> None:
        await self.session.flush()

    async def transactions(
        self, client_id: str, attribute: str, values: Sequence[str], action: str | None
    ) -> list[DciTransaction]:
        """The client's own transactions by ``transaction_id``, ``correlation_id``,
        ``reference_id_list`` or ``subscription_code_list``, newest first."""
        where: list[ColumnElement[bool]] = [DciTransaction.client_id == client_id]
        if attribute == "transaction_id":
            where.append(DciTransaction.transaction_id.in_(values))
        elif attribute == "correlation_id":
            ids = [UUID(v) for v in values if _is_uuid(v)]
            where.append(DciTransaction.id.in_(ids) if ids else false())
        elif attribute == "reference_id_list":
            where.append(DciTransaction.reference_ids.has_any(array(list(values), type_=Text)))
        elif attribute == "subscription_code_list":
            where.append(DciTransaction.subscription_codes.has_any(array(list(values), type_=Text)))
        if action is not None:
            where.append(DciTransaction.action == action)
        stmt = select(DciTransaction).where(*where).order_by(DciTransaction.created_at.desc())
        return list((await self.session.execute(stmt.limit(100))).scalars())

    async def purge_transactions(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(DciTransaction).where(DciTransaction.created_at < before)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # ---- subscriptions

    async def active_subscription(self, client_id: str, filter_key: str) -> bool:
        stmt = select(
            exists().where(
                DciSubscription.client_id == client_id,
                DciSubscription.filter_key == filter_key,
                DciSubscription.status == "subscribe",
                DciSubscription.expires_at > func.now(),
            )
        )
        return bool((await self.session.execute(stmt)).scalar_one())

    async def subscriptions_by_code(
        self, client_id: str, codes: Sequence[str]
    ) -> list[DciSubscription]:
        stmt = (
            select(DciSubscription)
            .where(DciSubscription.client_id == client_id, DciSubscription.code.in_(codes))
            .with_for_update()
        )
        return list((await self.session.execute(stmt)).scalars())

    async def cancel_notifications(self, subscription_ids: Sequence[UUID]) -> None:
        await self.session.execute(
            update(DciDelivery)
            .where(
                DciDelivery.subscription_id.in_(subscription_ids), DciDelivery.status == "pending"
            )
            .values(status="failed", last_error="unsubscribed")
        )

    # ---- deliveries

    async def due_deliveries(self, limit: int) -> list[DciDelivery]:
        """Due pending deliveries that head their stream: a stream's later messages wait
        while an earlier one is being retried (notifications in commit order)."""
        head = (
            select(DciDelivery.stream, func.min(DciDelivery.id).label("id"))
            .where(DciDelivery.status == "pending")
            .group_by(DciDelivery.stream)
            .subquery()
        )
        stmt = (
            select(DciDelivery)
            .join(head, head.c.id == DciDelivery.id)
            .where(DciDelivery.next_attempt_at <= func.now())
            .order_by(DciDelivery.id)
            .limit(limit)
            .with_for_update(of=DciDelivery, skip_locked=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def purge_deliveries(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(DciDelivery).where(
                DciDelivery.status != "pending", DciDelivery.created_at < before
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def notify_pass(self, limit: int) -> int:
        """Turn the change-log entries past the notifier's cursor into notifications for the
        matching subscriptions, in commit order (``position``, as the change feed), and move the
        cursor, in one statement (an entry is matched exactly once; one pass at a time, by an
        advisory lock). An entry has its position once its transaction commits, so entries of
        transactions still running wait for a later pass. Answers how many entries were read."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('dci_notify'))"))
        row = (await self.session.execute(text(_NOTIFY_SQL), {"limit": limit})).one()
        return int(row.read or 0)


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def birth_window(today: date, low: int | None, high: int | None) -> tuple[date | None, date | None]:
    """Birth dates of people aged ``low`` to ``high`` (whole years) on ``today``."""

    def years_before(n: int) -> date:
        try:
            return today.replace(year=today.year - n)
        except ValueError:  # 29 February
            return today.replace(year=today.year - n, day=28)

    earliest = (
        None if high is None else years_before(high + 1) + (date(2000, 1, 2) - date(2000, 1, 1))
    )
    latest = None if low is None else years_before(low)
    return earliest, latest


# A client's notifications to one URL form one stream, sent in commit order whatever the
# subscription. The event types an entry stands for: a household registered or updated (and, when its
# category changed, CategoryChanged too), a member added (not with its household's own
# registration: created in its transaction right after it, before any other change of it),
# departed or updated (an update of the household).
_NOTIFY_SQL = """
WITH cursor AS (
    SELECT position FROM registry.dci_cursors WHERE name = 'notify'
), page AS (
    SELECT c.seq, c.xid, c.position, c.entity, c.op, c.household_id, c.region_code, c.at, c.old
      FROM registry.change_log c, cursor
     WHERE c.op IS NOT NULL AND c.position > cursor.position
     ORDER BY c.position
     LIMIT :limit
), events AS (
    SELECT p.*, ev.event_type
      FROM page p
     CROSS JOIN LATERAL unnest(CASE
        WHEN p.entity = 'household' AND p.op = 'create' THEN ARRAY['REGISTER']
        WHEN p.entity = 'household' AND p.op = 'update' AND p.old ? 'category'
            THEN ARRAY['UPDATE', 'CategoryChanged']
        WHEN p.entity = 'household' AND p.op = 'update' THEN ARRAY['UPDATE']
        WHEN p.entity = 'member' AND p.op = 'create' AND NOT EXISTS (
            SELECT 1 FROM registry.change_log h
             WHERE h.household_id = p.household_id AND h.xid = p.xid
               AND h.entity = 'household' AND h.op = 'create' AND h.seq < p.seq
               AND NOT EXISTS (
                   SELECT 1 FROM registry.change_log o
                    WHERE o.household_id = p.household_id AND o.xid = p.xid
                      AND o.seq > h.seq AND o.seq < p.seq AND o.op IS NOT NULL
                      AND NOT (o.entity = 'member' AND o.op = 'create')))
            THEN ARRAY['NewHouseHoldMember']
        WHEN p.entity = 'member' AND p.op = 'depart' THEN ARRAY['HouseHoldMemberDeparted']
        WHEN p.entity = 'member' AND p.op = 'update' THEN ARRAY['UPDATE']
        ELSE ARRAY[]::text[] END) AS ev(event_type)
), inserted AS (
    INSERT INTO registry.dci_deliveries
        (client_id, subscription_id, stream, action, url, household_id, event_type,
         change_seq, event_at)
    SELECT s.client_id, s.id, 'notify:' || s.client_id || ':' || md5(s.sender_uri), 'notify',
           s.sender_uri,
           e.household_id, e.event_type, e.seq, e.at
      FROM events e
      JOIN registry.households h ON h.id = e.household_id
      JOIN registry.dci_subscriptions s
        ON s.event_type = e.event_type AND s.status = 'subscribe'
       AND s.expires_at > now() AND e.at >= s.created_at
       AND e.region_code LIKE s.region_prefix || '%'
       AND (s.categories IS NULL OR h.category = ANY(s.categories))
       AND (s.household_nos IS NULL OR h.household_no = ANY(s.household_nos))
       AND (s.id_numbers IS NULL OR EXISTS (
            SELECT 1 FROM registry.members m
             WHERE m.household_id = e.household_id AND m.id_number = ANY(s.id_numbers)))
     ORDER BY e.position, s.id
    RETURNING 1
), moved AS (
    UPDATE registry.dci_cursors SET position = (SELECT max(position) FROM page)
     WHERE name = 'notify' AND EXISTS (SELECT 1 FROM page)
    RETURNING 1
)
SELECT (SELECT count(*) FROM page) AS read, (SELECT count(*) FROM inserted) AS notified,
       (SELECT count(*) FROM moved) AS moved
"""
