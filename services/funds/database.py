"""The funds service's declarative base and the tables all its modules share."""

from sqlalchemy.orm import DeclarativeBase

from shared import service_db
from shared.changelog import ChangeLog
from shared.outbox import Outbox

SCHEMA = "funds"


class Base(DeclarativeBase):
    metadata = service_db.metadata(SCHEMA)


class ChangeLogEntry(service_db.ChangeLogTable, Base): ...


class IdempotencyKey(service_db.IdempotencyKeyTable, Base): ...


class JobOutbox(service_db.JobOutboxTable, Base): ...


# A project step's or a payment's audit entry and its webhook event are recorded by two calls:
# one entry still (shared.changelog).
change_log = ChangeLog(ChangeLogEntry, paired=frozenset({"project", "payment"}))
outbox = Outbox(JobOutbox)
