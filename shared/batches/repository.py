"""Every statement of offline batches: the stored answers, and what changed since a version."""

from typing import Any
from uuid import UUID

from sqlalchemy import Integer, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

# Bookkeeping every write changes: not a field a person edits.
_NOT_FIELDS = {"version", "updated_at", "created_at"}


class BatchRepository:
    def __init__(self, session: AsyncSession, model: type[Any], change_log: type[Any]) -> None:
        self.session, self.model, self.change_log = session, model, change_log
        # (entity, id) -> version, read once for the whole batch (``prefetch_versions``).
        self.versions: dict[tuple[str, UUID], int] = {}

    async def prefetch_versions(self, entity: str, model: type[Any], ids: set[UUID]) -> None:
        """The current versions of ``ids`` in one statement (what a change's handler
        compares ``base_version`` to before it writes; the write checks it again under its
        row lock)."""
        if ids:
            stmt = select(model.id, model.version).where(model.id.in_(ids))
            for entity_id, version in await self.session.execute(stmt):
                self.versions[(entity, entity_id)] = version

    async def answers(self, caller: str, item_ids: list[UUID]) -> dict[UUID, Any]:
        stmt = select(self.model).where(
            self.model.caller == caller, self.model.item_id.in_(item_ids)
        )
        return {row.item_id: row for row in (await self.session.execute(stmt)).scalars()}

    async def store(self, rows: list[dict[str, Any]]) -> None:
        """Keep the answers; a concurrent resend's answer already kept wins. The rows go as
        parameters of one prepared statement (an executemany, pipelined by asyncpg): rendered
        as one ``VALUES`` list of 1,000 rows, SQLAlchemy spent ~160 ms of CPU compiling it,
        a stall of every other request this process serves."""
        if rows:
            await self.session.execute(insert(self.model.__table__).on_conflict_do_nothing(), rows)

    async def changed_fields(
        self, entity: str, entity_id: str, since_version: int, version: int
    ) -> set[str]:
        """The fields the change log says changed after ``since_version``: the keys of
        ``old`` (the changed fields' previous values) of each later entry. Each write bumps
        the version once and logs one entry, so those are the entity's newest
        ``version - since_version`` entries (of the ones that carry a version, those past
        ``since_version``)."""
        log = self.change_log
        logged = func.cast(
            func.coalesce(log.data["version"].astext, log.new["version"].astext), Integer
        )
        stmt = (
            select(log.old)
            .where(
                log.entity == entity,
                log.entity_id == entity_id,
                (logged.is_(None)) | (logged > since_version),
            )
            .order_by(log.at.desc(), log.seq.desc())
            .limit(max(version - since_version, 0))
        )
        fields: set[str] = set()
        for (old,) in await self.session.execute(stmt):
            fields |= set(old or {})
        return fields - _NOT_FIELDS
