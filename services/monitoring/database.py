"""The monitoring service's declarative base and the tables all its modules share."""

from sqlalchemy.orm import DeclarativeBase

from shared import service_db
from shared.batches import BatchItemMixin
from shared.changelog import ChangeLog
from shared.changelog.feed import Feed
from shared.outbox import Outbox

SCHEMA = "monitoring"


class Base(DeclarativeBase):
    metadata = service_db.metadata(SCHEMA)


class ChangeLogEntry(service_db.ChangeLogTable, Base): ...


class IdempotencyKey(service_db.IdempotencyKeyTable, Base): ...


class JobOutbox(service_db.JobOutboxTable, Base): ...


class BatchItemAnswer(BatchItemMixin, Base):
    """The first answer to each offline-batch item (shared.batches)."""


# A case step's audit entry and its ``case.<step>`` event are recorded by two calls:
# one entry still (shared.changelog).
change_log = ChangeLog(ChangeLogEntry, paired=frozenset({"case"}))
outbox = Outbox(JobOutbox)

# The change feed (GET /v1/changes): alerts, case steps, policies and signals, each with the entity's
# state.
FEED = Feed(
    table=f"{SCHEMA}.change_log",
    entities={
        "alert": "AlertRead",
        "case": "CaseRead",
        "policy": "PolicyRead",
        "signal": "SignalRead",
    },
    # A signal's ID number is masked for readers below the county, as GET masks it.
    id_numbers={"signal": ("id_number",)},
)
