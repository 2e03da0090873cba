"""The monitoring service's declarative base and the tables all its modules share."""

from sqlalchemy.orm import DeclarativeBase

from shared import service_db
from shared.auth import Role
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

# Who reads self-declarations (防贫申报): officials who review them, and auditors.
DECLARATION_READERS = (
    Role.village_cadre,
    Role.township_officer,
    Role.county_officer,
    Role.province_admin,
    Role.auditor,
)
# Their free text, masked below the county as GET masks it.
DECLARATION_TEXT = ("reason", "description", "review_note")

# The change feed (GET /v1/changes): alerts, case steps, declarations, policies and signals,
# each with the entity's state.
FEED = Feed(
    table=f"{SCHEMA}.change_log",
    entities={
        "alert": "AlertRead",
        "case": "CaseRead",
        "declaration": "DeclarationRead",
        "policy": "PolicyRead",
        "signal": "SignalRead",
    },
    # A signal's or a declaration's ID number is masked for readers below the county, and a
    # declaration's free text; departments see no declarant's name, and no declarations at
    # all: GET /v1/declarations answers them 403, so the feed and webhooks leave them out.
    names={"declaration": ("name",)},
    id_numbers={"signal": ("id_number",), "declaration": ("id_number",)},
    masked_text=frozenset({"declaration"}),
    readers={"declaration": DECLARATION_READERS},
)
