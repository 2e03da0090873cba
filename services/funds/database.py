"""The funds service's declarative base and the tables all its modules share."""

from sqlalchemy.orm import DeclarativeBase

from shared.audit import AuditLogMixin, AuditTrail
from shared.db import make_metadata
from shared.idempotency import IdempotencyKeyMixin

SCHEMA = "funds"


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


class AuditLog(AuditLogMixin, Base):
    __tablename__ = "audit_log"


class IdempotencyKey(IdempotencyKeyMixin, Base):
    __tablename__ = "idempotency_keys"


audit = AuditTrail(AuditLog)
