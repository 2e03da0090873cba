"""The change log: one append-only record per service of every change (and of the actions
that change nothing, such as an export), written in the same transaction as the change.

One entry holds who acted and when (the audit trail, 审计日志) and, for a change others may
follow, the event they read: ``op`` names it and ``data`` is the entity's state after it.
The registry's change feed and every service's webhooks read the published entries
(``op IS NOT NULL``) in commit order (``position``); the audit views and a household's
history read them all. Entries with no ``op`` (exports, scan requests, sign-in accounts...)
are never published."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    LargeBinary,
    String,
    event,
    func,
    inspect,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.types import UserDefinedType

from shared.audit import diff, to_jsonable
from shared.auth import Principal
from shared.changelog import repository
from shared.db import RegionCode

# Where the published entries are (the partial indexes' predicate; readers repeat it).
PUBLISHED = "op IS NOT NULL"
# Where the committed entries are (a position is given at commit).
COMMITTED = "position IS NOT NULL"
# The session key under which an offline batch's item (``shared.batches``) names itself:
# ``(batch_id, item_id)``, recorded on every entry the item writes.
BATCH_CONTEXT = "batch_item"


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (epoch and xid), as ``pg_current_xact_id()``."""

    cache_ok = True

    def get_col_spec(self, **_: Any) -> str:
        return "xid8"


class ChangeLogMixin:
    """Columns of a service's ``change_log`` table (the declarative base names the schema).

    ``position`` numbers the entries in the order their transactions committed: a deferred
    constraint trigger (migration 0017_feeds) assigns it at commit under the service's
    advisory lock, so a visible position has every smaller one visible (or rolled back) and a
    reader going up by position never skips or repeats an entry, and sees one record's
    versions in increasing order. ``xid`` is the writing transaction's id (how the commit step
    finds the transaction's entries; the order of cursors issued before positions existed).
    ``old`` holds the changed fields' previous values; ``new`` their new
    values only where they are not simply ``data`` (the audit view shows ``new`` or else
    ``data``)."""

    __tablename__ = "change_log"

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return cls.indexes()

    @classmethod
    def indexes(cls) -> tuple[Index, ...]:
        """The readers' indexes; a service with other readers adds its own."""
        return (
            # Every committed entry in commit order: the feeds (``position > :after`` implies
            # the predicate), the chain's head at each commit and its verification.
            Index(None, "position", unique=True, postgresql_where=text(COMMITTED)),
            # The commit step's look-up of its transaction's entries (none once committed).
            Index("ix_change_log_unpositioned", "xid", postgresql_where=text("position IS NULL")),
            # The audit views, newest first by (at, seq): all of a region, or by one filter.
            Index(None, "at", "seq"),
            Index(None, "entity_id", "at", "seq"),
            Index(None, "household_id", "at", "seq", postgresql_where="household_id IS NOT NULL"),
            Index(None, "actor", "at", "seq"),
            Index(None, "region_code", "at", "seq"),
        )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    xid: Mapped[int] = mapped_column(Xid8(), server_default=text("pg_current_xact_id()"))
    # Set when the transaction commits (NULL until then): the feeds' order.
    position: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # When the transaction committed (set with ``position``): what an as-of read goes by.
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # sha256(previous entry's hash || digest of this entry's content), set with ``position``
    # (migration 0041_chain; ``shared.changelog.chain`` verifies it).
    hash: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(32))
    # The registered client that acted (a partner system), alongside its ``actor``.
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[UUID | None] = mapped_column(nullable=True)
    region_code: Mapped[str] = RegionCode()
    # The published event (``create``, ``update``... or a past tense such as ``raised``):
    # NULL for an entry no feed or webhook publishes.
    op: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # None is SQL NULL (not JSON null): "no value" reads the same from SQL and Python.
    old: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True), nullable=True)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True), nullable=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True), nullable=True)
    # The offline batch (``POST /v1/batches``) and its item that made the change, if any.
    batch_id: Mapped[UUID | None] = mapped_column(nullable=True)
    batch_item_id: Mapped[UUID | None] = mapped_column(nullable=True)

    @property
    def shown_new(self) -> dict[str, Any] | None:
        """The audit view's ``new``: the changed fields, or the state after."""
        return self.new if self.new is not None else self.data


def values(
    principal: Principal | None,
    *,
    action: str,
    entity: str,
    entity_id: Any,
    region_code: str,
    household_id: UUID | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    op: str | None = None,
    data: Any = None,
) -> dict[str, Any]:
    """The columns of one entry. Only the changed fields of ``old`` and ``new`` are kept;
    ``new`` is not stored again when it is the published ``data``."""
    old_j, new_j = diff(to_jsonable(old), to_jsonable(new))
    data_j = to_jsonable(data) if data is not None else None
    if data_j is not None and new_j == data_j:
        new_j = None
    return {
        "actor": principal.sub if principal is not None else "system",
        "actor_role": principal.role.value if principal is not None else "system",
        "client_id": principal.client_id if principal is not None else None,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "household_id": household_id,
        "region_code": region_code,
        "op": op,
        "old": old_j,
        "new": new_j,
        "data": data_j,
    }


class ChangeLog:
    """A service's change log. ``record`` writes one entry: an audit entry nobody publishes,
    or, naming an ``op`` and its ``data``, a change others read.

    For the entities named ``paired`` (monitoring's cases, funds' projects and payments), a
    change whose audit entry and webhook event are recorded by two calls in one transaction
    (the audit trail's, then the webhook hub's, or the other way round) still makes one
    entry: the first half waits in the session until the next flush (the commit: sessions
    do not autoflush), and the second, for the same entity, completes it. Every other entry
    is written at once."""

    def __init__(
        self, model: type[ChangeLogMixin], *, paired: frozenset[str] = frozenset()
    ) -> None:
        self.model = model
        self.paired = paired

    async def record(
        self,
        session: AsyncSession,
        principal: Principal | None,
        *,
        action: str,
        entity: str,
        entity_id: Any,
        region_code: str,
        household_id: UUID | None = None,
        old: dict[str, Any] | None = None,
        new: dict[str, Any] | None = None,
        op: str | None = None,
        data: Any = None,
    ) -> None:
        """One entry, in the caller's transaction (``principal`` None: the system acted)."""
        row = values(
            principal,
            action=action,
            entity=entity,
            entity_id=entity_id,
            region_code=region_code,
            household_id=household_id,
            old=old,
            new=new,
            op=op,
            data=data,
        )
        if (batch := session.info.get(BATCH_CONTEXT)) is not None:
            row["batch_id"], row["batch_item_id"] = batch
        if entity not in self.paired:
            await repository.append(session, self.model, row)
            return
        halves = _halves(session, self.model.__name__)
        key = (row["entity"], row["entity_id"])
        other = halves.pop(key, None)
        if other is not None and inspect(other).pending and (other.op is None) != (op is None):
            _complete(other, row)
            return
        entry = self.model(**row)
        session.add(entry)
        halves[key] = entry


def _halves(session: AsyncSession, name: str) -> dict[tuple[str, str], ChangeLogMixin]:
    """The session's entries still waiting for their other half: until the next flush
    writes them (a flushed entry is never changed again)."""
    key = f"change_log_halves:{name}"
    if key not in session.info:
        waiting: dict[tuple[str, str], ChangeLogMixin] = {}
        session.info[key] = waiting
        event.listen(session.sync_session, "after_flush", lambda *_: waiting.clear())
    return session.info[key]


def _complete(entry: ChangeLogMixin, row: dict[str, Any]) -> None:
    """One entry of an audit half (who acted, old and new values) and an event half (the op
    and the state after it)."""
    if row.get("batch_id") is not None:
        entry.batch_id, entry.batch_item_id = row["batch_id"], row["batch_item_id"]
    if row["op"] is not None:
        entry.op, entry.data = row["op"], row["data"]
    else:
        for column in ("actor", "actor_role", "client_id", "action", "old", "new"):
            setattr(entry, column, row[column])
    if entry.new is not None and entry.new == entry.data:
        entry.new = None
