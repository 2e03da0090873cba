from datetime import date

from sqlalchemy import or_, select

from services.funds.projects.models import Notice
from shared.db import RepositoryBase


class NoticeRepository(RepositoryBase[Notice]):
    model = Notice

    def public(self, prefix: str, ancestors: list[str], active_on: date | None):
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
