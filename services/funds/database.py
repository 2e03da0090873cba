"""The funds service's declarative base and the tables all its modules share."""

from sqlalchemy.orm import DeclarativeBase

from shared.changelog import ChangeLog, ChangeLogMixin
from shared.db import make_metadata
from shared.idempotency import IdempotencyKeyMixin
from shared.outbox import JobOutboxMixin, Outbox

SCHEMA = "funds"


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


class ChangeLogEntry(ChangeLogMixin, Base):
    """Every change of this service and who made it (审计日志), with the events its webhooks
    publish."""


class IdempotencyKey(IdempotencyKeyMixin, Base):
    __tablename__ = "idempotency_keys"


class JobOutbox(JobOutboxMixin, Base):
    """Jobs written with their work, waiting to be handed to the queue (shared.outbox)."""

    __tablename__ = "job_outbox"


# A change's audit entry and its webhook event are written by two calls: one entry still.
audit = ChangeLog(ChangeLogEntry, pair_halves=True)
outbox = Outbox(JobOutbox)
