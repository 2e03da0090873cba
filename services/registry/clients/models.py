from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Boolean, DateTime, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.database import Base
from shared.db import RegionCode, VersionedMixin, ordered_uuid


class Client(VersionedMixin, Base):
    """A registered client: a partner department's system signing in with its own id and
    secret (OAuth2 client credentials), never with a person's password. Its secret is stored
    as a SHA-256 digest (it is 256 random bits, so a slow hash adds nothing); after a
    rotation the previous one stays valid until ``previous_secret_expires_at``."""

    __tablename__ = "clients"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=ordered_uuid)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = RegionCode(index=True)
    scopes: Mapped[list[str]] = mapped_column(JSONB, default=list)
    secret_hash: Mapped[str] = mapped_column(String(64))
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    secret_rotated_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    # Its public signing keys (a JWK Set of Ed25519 keys): every DCI request it sends is
    # verified against them (services/registry/dci).
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True), nullable=True)
