from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, Identity, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.database import Base
from shared.ids import ordered_uuid


class DciTransaction(Base):
    """One DCI request of a client (a search, subscribe or unsubscribe): what ``txn/status``
    answers for ``dci_txn_days``. Its id is the ``correlation_id`` the registry answered.
    ``status`` holds the answer's statuses without records: personal data is not kept here."""

    __tablename__ = "dci_transactions"
    __table_args__ = (
        Index(None, "client_id", "transaction_id"),
        Index(None, "created_at"),
        Index(None, "reference_ids", postgresql_using="gin"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=ordered_uuid)
    client_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20))  # search, subscribe, unsubscribe
    transaction_id: Mapped[str] = mapped_column(String(99))
    message_id: Mapped[str] = mapped_column(String(99))
    reference_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)
    subscription_codes: Mapped[list[str]] = mapped_column(JSONB, default=list)
    status: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DciSubscription(Base):
    """A client's subscription to one event type (``REGISTER``, ``UPDATE``...) of households
    under ``region_prefix`` (its own region, or narrower by its filter), optionally only of
    some categories, household numbers or ID numbers; notified until ``expires_at``."""

    __tablename__ = "dci_subscriptions"
    __table_args__ = (
        Index(None, "client_id", "filter_key"),
        Index(None, "event_type", postgresql_where=text("status = 'subscribe'")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=ordered_uuid)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(40))
    region_prefix: Mapped[str] = mapped_column(String(12))
    categories: Mapped[list[str] | None] = mapped_column(ARRAY(Text), nullable=True)
    household_nos: Mapped[list[str] | None] = mapped_column(ARRAY(Text), nullable=True)
    id_numbers: Mapped[list[str] | None] = mapped_column(ARRAY(Text), nullable=True)
    filter: Mapped[Any] = mapped_column(JSONB)
    filter_key: Mapped[str] = mapped_column(String(64))
    sender_uri: Mapped[str] = mapped_column(String(2000))
    transaction_id: Mapped[str] = mapped_column(String(99))
    reference_id: Mapped[str] = mapped_column(String(99))
    status: Mapped[str] = mapped_column(String(12), default="subscribe")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DciDelivery(Base):
    """A message the registry POSTs to a client: a callback (``on-search``, ``on-subscribe``,
    ``on-unsubscribe``, ``txn-on-status``) or a notification (``notify``). Sent in ``id``
    order per ``stream`` (a subscription, or a client's callbacks), retried with backoff,
    always under the same ``message_id``; a notification's record is rendered when sent."""

    __tablename__ = "dci_deliveries"
    __table_args__ = (
        Index(None, "stream", "id", postgresql_where=text("status = 'pending'")),
        Index(None, "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    message_id: Mapped[UUID] = mapped_column(server_default=text("gen_random_uuid()"))
    client_id: Mapped[str] = mapped_column(String(64))
    subscription_id: Mapped[UUID | None] = mapped_column(nullable=True)
    stream: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(2000))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True), nullable=True)
    household_id: Mapped[UUID | None] = mapped_column(nullable=True)
    event_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    change_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(8), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DciCursor(Base):
    """How far the notifier has read the change log, by commit position as the change feed."""

    __tablename__ = "dci_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
