"""The base of every module's repository: the queries all modules share, so a module's
``repository.py`` holds only its own (and SQL lives in repositories only).

- ``get`` / ``get_visible``: one row by id; ``get_visible`` answers 404 alike for a row that
  does not exist and one outside the caller's region, so a 404 never confirms that something
  exists elsewhere.
- ``create``: add, flush and read back what the database filled in (ids, ``created_at``),
  and with ``audit=`` write the audit entry in the same transaction.
- ``paginate``: a keyset page of a statement (``shared.pagination``)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute

from shared import pagination
from shared.auth import Principal
from shared.changelog import ChangeLog
from shared.errors import NotFound
from shared.i18n import t

M = TypeVar("M", bound=DeclarativeBase)


@dataclass(frozen=True)
class Audit:
    """An audit entry to write with a row: who did ``action``, and the new values. What is
    left out is the row's own: its ``id``, its ``region_code``, the repository's ``entity``."""

    principal: Principal
    action: str
    new: dict[str, Any] | None = None
    old: dict[str, Any] | None = None
    entity: str | None = None
    entity_id: Any = None
    region_code: str | None = None
    household_id: UUID | None = None


class RepositoryBase(Generic[M]):
    """Every query of a module lives in its repository; this base holds the common ones."""

    model: ClassVar[type[Any]]
    # The change log of the service (its ``database.change_log``) and the entity name its
    # entries carry; only a repository that writes audited rows needs them.
    trail: ClassVar[ChangeLog | None] = None
    entity: ClassVar[str] = ""
    # Said for a row that is missing or out of sight: name only what was asked for.
    not_found: ClassVar[str] = t("not found", "not_found")

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id_: UUID | int | str, *, for_update: bool = False) -> M | None:
        stmt = select(self.model).where(self.model.id == id_)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def visible_to(self, principal: Principal, obj: M) -> bool:
        """Whether ``principal`` may see ``obj``: by default, whether it lies in their
        region. A service whose callers also see what a region above them holds widens it."""
        return principal.covers(obj.region_code)  # type: ignore[attr-defined]

    async def get_visible(
        self, id_: UUID | int | str, principal: Principal, *, for_update: bool = False
    ) -> M:
        """The row, if it exists and the caller may see it; else 404 (the same either way)."""
        obj = await self.get(id_, for_update=for_update)
        if obj is None or not self.visible_to(principal, obj):
            raise NotFound(self.not_found)
        return obj

    def add(self, obj: M) -> M:
        self.session.add(obj)
        return obj

    async def flush(self) -> None:
        await self.session.flush()

    async def refresh(self, obj: M) -> None:
        """Read ``obj`` back: what the database set on a write (defaults, triggers)."""
        await self.session.refresh(obj)

    async def create(self, obj: M, *, flush: bool = True, audit: Audit | None = None) -> M:
        """Add ``obj``. With ``flush`` (the default) write it now and read back what the
        database filled in (its id, ``created_at``); with ``audit`` also record who created
        it (that needs the flush: the entry names the row's id)."""
        self.session.add(obj)
        if flush or audit is not None:
            await self.session.flush()
            await self.session.refresh(obj)
        if audit is not None:
            await self.record(obj, audit)
        return obj

    async def record(self, obj: Any, audit: Audit) -> None:
        """Write the audit entry ``audit`` about ``obj`` (in this transaction)."""
        if self.trail is None:
            raise RuntimeError(f"{type(self).__name__} has no audit trail")
        await self.trail.record(
            self.session,
            audit.principal,
            action=audit.action,
            entity=audit.entity or self.entity,
            entity_id=audit.entity_id if audit.entity_id is not None else obj.id,
            region_code=audit.region_code or obj.region_code,
            household_id=audit.household_id,
            old=audit.old,
            new=audit.new,
        )

    async def paginate(
        self,
        stmt: Select[Any],
        order_by: Sequence[InstrumentedAttribute[Any]],
        cursor: str | None,
        limit: int,
        *,
        descending: bool = False,
    ) -> tuple[list[Any], str | None]:
        """One keyset page of ``stmt`` (see ``shared.pagination.paginate``)."""
        return await pagination.paginate(
            self.session, stmt, order_by, cursor, limit, descending=descending
        )


async def try_advisory_xact_lock(session: AsyncSession, key: str) -> bool:
    """Take the transaction-scoped advisory lock named ``key`` if no other transaction holds
    it: how jobs that many workers may start run one at a time (a county's scan, the sweeper)."""
    row = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(hashtext(:key))"), {"key": key}
    )
    return bool(row.scalar_one())


async def advisory_xact_lock(session: AsyncSession, key: str) -> None:
    """Wait for the transaction-scoped advisory lock named ``key``."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


async def ping(connection: AsyncConnection) -> None:
    """One round trip: the readiness probe's proof that the database answers."""
    await connection.execute(text("SELECT 1"))
