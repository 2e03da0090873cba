"""The registry's declarative base and the tables every registry module shares."""

from sqlalchemy import Index, text
from sqlalchemy.orm import DeclarativeBase

from shared.changelog import PUBLISHED, ChangeLog, ChangeLogMixin
from shared.db import make_metadata
from shared.idempotency import IdempotencyKeyMixin
from shared.outbox import JobOutboxMixin, Outbox

SCHEMA = "registry"


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


class ChangeLogEntry(ChangeLogMixin, Base):
    """Every change to the registry, who made it and what it published (审计日志, the change
    feed's source)."""

    @classmethod
    def indexes(cls) -> tuple[Index, ...]:
        # A county reader's feed pages; the feed's repository adds the matching predicate.
        county = Index(
            "ix_change_log_county_xid_seq",
            text("left(region_code, 6)"),
            "xid",
            "seq",
            postgresql_where=text(PUBLISHED),
        )
        return (*super().indexes(), county)


class IdempotencyKey(IdempotencyKeyMixin, Base):
    __tablename__ = "idempotency_keys"


class JobOutbox(JobOutboxMixin, Base):
    """Jobs written with their work, waiting to be handed to the queue (shared.outbox)."""

    __tablename__ = "job_outbox"


audit = ChangeLog(ChangeLogEntry)
outbox = Outbox(JobOutbox)
