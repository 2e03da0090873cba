"""What every service declares in its own PostgreSQL schema, written once: the metadata of
its declarative base and the tables all its modules share. A service's ``database.py`` only
names its schema and binds these to its base (mypy needs each mapped class to be a class
statement, so the binding is one line a table rather than a generated class)."""

from sqlalchemy import MetaData

from shared.changelog import ChangeLogMixin
from shared.db import make_metadata
from shared.idempotency import IdempotencyKeyMixin
from shared.outbox import JobOutboxMixin


def metadata(schema: str) -> MetaData:
    """The metadata of a service's declarative base: its schema, our constraint names."""
    return make_metadata(schema)


class ChangeLogTable(ChangeLogMixin):
    """Every change of the service, who made it (审计日志) and the event others read of it,
    written with the change itself (shared.changelog)."""

    __tablename__ = "change_log"


class IdempotencyKeyTable(IdempotencyKeyMixin):
    """The answers of writes sent with an ``Idempotency-Key`` (shared.idempotency)."""

    __tablename__ = "idempotency_keys"


class JobOutboxTable(JobOutboxMixin):
    """Jobs written with their work, waiting to be handed to the queue (shared.outbox)."""

    __tablename__ = "job_outbox"
