from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Select, or_, select

from services.funds.notices.models import Notice
from services.funds.repository import FundsRepository


class NoticeRepository(FundsRepository[Notice]):
    model = Notice
    entity = "notice"

    def public(self, prefix: str, ancestors: list[str], active_on: date | None) -> Select[Any]:
        """Notices in a region or posted by a region above it (a county's project notices
        are shown in its villages)."""
        stmt = select(Notice).where(
            or_(
                Notice.region_code.startswith(prefix, autoescape=True),
                Notice.region_code.in_(ancestors),
            )
        )
        if active_on is not None:
            stmt = stmt.where(Notice.starts_on <= active_on, Notice.ends_on >= active_on)
        return stmt

    async def finished(
        self, subject_id: UUID, purpose: str, min_days: int, today: date, not_before: date | None
    ) -> Notice | None:
        """A notice on the subject, of this purpose, long enough and already over."""
        stmt = (
            select(Notice)
            .where(
                Notice.subject_id == subject_id,
                Notice.purpose == purpose,
                Notice.ends_on < today,
                Notice.ends_on - Notice.starts_on + 1 >= min_days,
            )
            .order_by(Notice.ends_on.desc())
            .limit(1)
        )
        if not_before is not None:
            stmt = stmt.where(Notice.starts_on >= not_before)
        return (await self.session.execute(stmt)).scalar_one_or_none()
