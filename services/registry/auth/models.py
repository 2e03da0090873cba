from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import Boolean, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.database import Base
from shared.db import RegionCode, VersionedMixin, ordered_uuid


class User(VersionedMixin, Base):
    """An account: an official, a cadre, a department or one of Povguard's own services.

    ``version`` is the row's optimistic-concurrency version (``If-Match``); ``token_version``
    goes into every token issued for the account and is bumped by each change that must reach
    tokens already out (deactivation, role, region, password): see ``shared.accounts``."""

    __tablename__ = "users"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = RegionCode(index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Who made the account through the API (None: the CLI). A province admin made there waits,
    # inactive, for another province admin's approval (separation of duties).
    created_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    approval_pending_since: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )

    @property
    def pending_approval(self) -> bool:
        return self.approval_pending_since is not None


class RefreshToken(Base):
    """One refresh token of a person's sign-in. Tokens of one sign-in form a family: each use
    retires the token and issues the next (rotation); a retired token presented again means it
    was copied, and the whole family is revoked. Only the SHA-256 digest is stored."""

    __tablename__ = "refresh_tokens"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=ordered_uuid)
    family_id: Mapped[UUID] = mapped_column(index=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
