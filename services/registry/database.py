"""The registry's declarative base and the tables every registry module shares."""

from sqlalchemy.orm import DeclarativeBase

from shared import service_db
from shared.audit import AuditTrail
from shared.outbox import Outbox

SCHEMA = "registry"


class Base(DeclarativeBase):
    metadata = service_db.metadata(SCHEMA)


class AuditLog(service_db.AuditLogTable, Base): ...


class IdempotencyKey(service_db.IdempotencyKeyTable, Base): ...


class JobOutbox(service_db.JobOutboxTable, Base): ...


audit = AuditTrail(AuditLog)
outbox = Outbox(JobOutbox)
