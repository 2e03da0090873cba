"""The funds service's declarative base and the tables all its modules share."""

from sqlalchemy.orm import DeclarativeBase

from shared import service_db
from shared.audit import AuditTrail
from shared.outbox import Outbox

SCHEMA = "funds"


class Base(DeclarativeBase):
    metadata = service_db.metadata(SCHEMA)


class AuditLog(service_db.AuditLogTable, Base): ...


class IdempotencyKey(service_db.IdempotencyKeyTable, Base): ...


class JobOutbox(service_db.JobOutboxTable, Base): ...


audit = AuditTrail(AuditLog)
outbox = Outbox(JobOutbox)
