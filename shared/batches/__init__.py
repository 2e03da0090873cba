"""Offline batches (离线批量同步): a phone that worked without signal sends its queued changes
in one ``POST /v1/batches``; each item is applied on its own (undone alone if refused) or all of
them together (``atomic``), answered ``applied``, ``conflict`` (soft: applied on top of a
change it does not touch; hard: it overlaps one, nothing written) or ``rejected``.

The shapes are in ``schemas``, the runner (order, savepoints, resends) in ``runner``; each
service binds ``BatchItemMixin`` to its own ``batch_items`` table and supplies a handler per
entity that calls its existing services, so a batch obeys the same rules, scope and change
log as one request. Every change-log entry a batch item writes names the batch and the item
(``change_log.batch_id``, ``batch_item_id``)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.changelog import BATCH_CONTEXT as CHANGE_CONTEXT

__all__ = ["CHANGE_CONTEXT", "BatchItemMixin"]


class BatchItemMixin:
    """A batch item's first answer, kept per caller and ``item_id`` with its content's hash:
    a resend gets the same answer, a resend with other content a 409 for that item."""

    __tablename__ = "batch_items"

    caller: Mapped[str] = mapped_column(String(120), primary_key=True)
    item_id: Mapped[UUID] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[UUID] = mapped_column()
    status_code: Mapped[int] = mapped_column(Integer)
    answer: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
