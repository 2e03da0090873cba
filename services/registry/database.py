"""The registry's declarative base and the tables every registry module shares."""

from sqlalchemy import Index, text
from sqlalchemy.orm import DeclarativeBase

from shared import service_db
from shared.batches import BatchItemMixin
from shared.changelog import PUBLISHED, ChangeLog
from shared.outbox import Outbox

SCHEMA = "registry"


class Base(DeclarativeBase):
    metadata = service_db.metadata(SCHEMA)


class ChangeLogEntry(service_db.ChangeLogTable, Base):
    """Every change to the registry, who made it and what it published (审计日志, the change
    feed's source)."""

    @classmethod
    def indexes(cls) -> tuple[Index, ...]:
        # A county reader's feed pages; the feed's repository adds the matching predicate.
        county = Index(
            "ix_change_log_county_position",
            text("left(region_code, 6)"),
            "position",
            postgresql_where=text(PUBLISHED),
        )
        return (*super().indexes(), county)


class IdempotencyKey(service_db.IdempotencyKeyTable, Base): ...


class JobOutbox(service_db.JobOutboxTable, Base): ...


class BatchItemAnswer(BatchItemMixin, Base):
    """The first answer to each offline-batch item (shared.batches)."""


change_log = ChangeLog(ChangeLogEntry)
outbox = Outbox(JobOutbox)
