"""The tables each service keeps for its webhooks, in its own schema: one definition here,
made for a service by ``tables(Base)`` (the service's declarative base names the schema)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from shared.db import RegionCode, ordered_uuid


class WebhookSubscriptionMixin:
    """A partner's subscription: where to POST which events of which region."""

    __tablename__ = "webhook_subscriptions"

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (Index(None, "owner", "id"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=ordered_uuid)
    owner: Mapped[str] = mapped_column(String(200))  # the token's ``sub``
    client_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The owner's role decides the masking of what is delivered, as on the change feed.
    role: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = RegionCode()
    region_prefix: Mapped[str] = mapped_column(String(12, collation="C"))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    # Kept to sign with (HMAC needs the key itself); shown to the owner once.
    secret: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    status_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookDeliveryMixin:
    """One event for one subscription, and the log of its attempts. ``id`` is the
    ``webhook-id`` header, the same on every retry."""

    __tablename__ = "webhook_deliveries"

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (
            Index(None, "subscription_id", "event_ref", unique=True),
            Index(None, "subscription_id", "id"),
            Index(
                "ix_webhook_deliveries_due",
                "subscription_id",
                "next_attempt_at",
                postgresql_where=text("status = 'pending'"),
            ),
        )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=ordered_uuid)

    @declared_attr
    def subscription_id(cls) -> Mapped[UUID]:
        schema = cls.metadata.schema  # type: ignore[attr-defined]
        return mapped_column(ForeignKey(f"{schema}.webhook_subscriptions.id", ondelete="CASCADE"))

    event_type: Mapped[str] = mapped_column(String(64))
    event_ref: Mapped[str] = mapped_column(String(64))  # the source event's sequence number
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    retry_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebhookCursorMixin:
    """How far the dispatcher has fanned out the service's events: the change log's
    ``position`` of the last one."""

    __tablename__ = "webhook_cursors"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, server_default="0")


@dataclass(frozen=True)
class WebhookTables:
    """A service's three webhook tables, mapped on its declarative base."""

    subscription: type[Any]
    delivery: type[Any]
    cursor: type[Any]


def tables(base: type[DeclarativeBase]) -> WebhookTables:
    """The webhook tables in ``base``'s schema (each service calls this once)."""
    namespace = {"__module__": base.__module__}
    return WebhookTables(
        subscription=type("WebhookSubscription", (WebhookSubscriptionMixin, base), dict(namespace)),
        delivery=type("WebhookDelivery", (WebhookDeliveryMixin, base), dict(namespace)),
        cursor=type("WebhookCursor", (WebhookCursorMixin, base), dict(namespace)),
    )
