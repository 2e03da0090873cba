"""The funds service's declarative base and the tables all its modules share."""

from sqlalchemy.orm import DeclarativeBase

from shared.audit import AuditLogMixin, AuditTrail
from shared.db import make_metadata
from shared.idempotency import IdempotencyKeyMixin
from shared.outbox import JobOutboxMixin, Outbox

SCHEMA = "funds"


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


class AuditLog(AuditLogMixin, Base):
    __tablename__ = "audit_log"


class IdempotencyKey(IdempotencyKeyMixin, Base):
    __tablename__ = "idempotency_keys"


class JobOutbox(JobOutboxMixin, Base):
    """Jobs written with their work, waiting to be handed to the queue (shared.outbox)."""

    __tablename__ = "job_outbox"


audit = AuditTrail(AuditLog)
outbox = Outbox(JobOutbox)
