"""The registry's declarative base and the tables every registry module shares."""

from sqlalchemy.orm import DeclarativeBase

from shared.audit import AuditLogMixin, AuditTrail
from shared.db import make_metadata
from shared.idempotency import IdempotencyKeyMixin
from shared.outbox import JobOutboxMixin, Outbox

SCHEMA = "registry"


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


class AuditLog(AuditLogMixin, Base):
    """Who changed what in the registry (审计日志)."""

    __tablename__ = "audit_log"


class IdempotencyKey(IdempotencyKeyMixin, Base):
    __tablename__ = "idempotency_keys"


class JobOutbox(JobOutboxMixin, Base):
    """Jobs written with their work, waiting to be handed to the queue (shared.outbox)."""

    __tablename__ = "job_outbox"


audit = AuditTrail(AuditLog)
outbox = Outbox(JobOutbox)
