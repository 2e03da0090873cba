from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text, update

from services.registry.imports.models import ImportFile, ImportJob, ImportRejection
from shared.db import RepositoryBase


class ImportRepository(RepositoryBase[ImportJob]):
    model = ImportJob

    async def content(self, import_id: UUID) -> bytes | None:
        row = await self.session.get(ImportFile, import_id)
        return row.content if row else None

    async def rejections(self, import_id: UUID, limit: int) -> list[ImportRejection]:
        stmt = (
            select(ImportRejection)
            .where(ImportRejection.import_id == import_id)
            .order_by(ImportRejection.row_no, ImportRejection.column)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def add_counts(
        self,
        import_id: UUID,
        rows: int,
        accepted: int,
        rejected: int,
        unchanged: int,
        chunk: int | None = None,
    ) -> bool:
        """Add a chunk's counts; with ``chunk``, also record it as loaded (in the chunk's own
        transaction, so a resumed job skips exactly the chunks that committed)."""
        values: dict[str, Any] = {
            "rows_read": ImportJob.rows_read + rows,
            "accepted": ImportJob.accepted + accepted,
            "rejected": ImportJob.rejected + rejected,
            "unchanged": ImportJob.unchanged + unchanged,
            "heartbeat_at": func.now(),
        }
        stmt = update(ImportJob).where(ImportJob.id == import_id)
        if chunk is not None:
            values["chunks_done"] = func.array_append(ImportJob.chunks_done, chunk)
            # A second copy of the job (one taken for dead while it was only slow) loading the
            # same chunk finds it recorded once the first commits: it must not count it again.
            stmt = stmt.where(~ImportJob.chunks_done.contains([chunk]))
        result = await self.session.execute(stmt.values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim(
        self, import_id: UUID, chunks_total: int | None = None, *, count_attempt: bool = False
    ) -> None:
        """The running job's lease: ``running`` with a fresh heartbeat."""
        values: dict[str, Any] = {"status": "running", "heartbeat_at": func.now()}
        if chunks_total is not None:
            values["chunks_total"] = chunks_total
        if count_attempt:
            values["attempts"] = ImportJob.attempts + 1
        await self.session.execute(
            update(ImportJob).where(ImportJob.id == import_id).values(**values)
        )

    async def beat(self, import_id: UUID) -> None:
        await self.session.execute(
            update(ImportJob).where(ImportJob.id == import_id).values(heartbeat_at=func.now())
        )

    async def hand_over(self, import_id: UUID, *, count_attempt: bool = False) -> None:
        """Back to ``queued`` for the next job to take (a continuation, or the sweeper's
        dispatch after the heartbeat stopped, which counts as an attempt)."""
        values: dict[str, Any] = {"status": "queued", "heartbeat_at": func.now()}
        if count_attempt:
            values["attempts"] = ImportJob.attempts + 1
        await self.session.execute(
            update(ImportJob).where(ImportJob.id == import_id).values(**values)
        )

    async def stale(self, before: datetime) -> list[ImportJob]:
        """Queued or running imports without a heartbeat since ``before`` (another sweeper's
        rows are skipped)."""
        stmt = (
            select(ImportJob)
            .where(ImportJob.status.in_(("queued", "running")), ImportJob.heartbeat_at < before)
            .order_by(ImportJob.heartbeat_at)
            .limit(500)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    def list_query(self, prefix: str) -> Any:
        return select(ImportJob).where(ImportJob.region_code.startswith(prefix, autoescape=True))

    async def staged_rejections(self) -> list[Any]:
        """The pipeline's rejections of this batch, one per row and column, as
        ``save_staged_rejections`` keeps them (a dry run shows what a real import stores)."""
        result = await self.session.execute(
            text(
                """
                SELECT row_no, left(col, 50) AS "column", left(min(reason), 500) AS reason
                  FROM import_rejects GROUP BY row_no, left(col, 50) ORDER BY 1, 2
                """
            )
        )
        return list(result)

    async def save_staged_rejections(self, import_id: UUID, region_code: str) -> None:
        """Copy the pipeline's rejections of this batch (set-based, from its temp table)."""
        await self.session.execute(
            text(
                """
                INSERT INTO registry.import_rejections (import_id, row_no, "column", region_code,
                                                        reason)
                SELECT :id, row_no, left(col, 50), :region, left(min(reason), 500)
                  FROM import_rejects GROUP BY row_no, left(col, 50)
                ON CONFLICT DO NOTHING
                """
            ),
            {"id": import_id, "region": region_code},
        )

    async def finish(self, import_id: UUID, status: str, error: str | None = None) -> None:
        await self.session.execute(
            update(ImportJob)
            .where(ImportJob.id == import_id)
            .values(status=status, error=error, finished_at=func.now())
        )
