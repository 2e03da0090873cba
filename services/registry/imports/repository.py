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

    async def reset(self, import_id: UUID) -> None:
        """A job that runs again starts its counts afresh (already loaded rows then count as
        unchanged)."""
        await self.session.execute(
            ImportRejection.__table__.delete().where(ImportRejection.import_id == import_id)
        )
        await self.session.execute(
            update(ImportJob)
            .where(ImportJob.id == import_id)
            .values(status="running", rows_read=0, accepted=0, rejected=0, unchanged=0, error=None)
        )

    async def add_counts(
        self, import_id: UUID, rows: int, accepted: int, rejected: int, unchanged: int
    ) -> None:
        await self.session.execute(
            update(ImportJob)
            .where(ImportJob.id == import_id)
            .values(
                rows_read=ImportJob.rows_read + rows,
                accepted=ImportJob.accepted + accepted,
                rejected=ImportJob.rejected + rejected,
                unchanged=ImportJob.unchanged + unchanged,
            )
        )

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
