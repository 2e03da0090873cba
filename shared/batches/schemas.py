"""The request and answer of ``POST /v1/batches`` (registry and monitoring)."""

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

MAX_ITEMS = 1000


class BatchItem(BaseModel):
    """One queued change. ``id`` names the entity a change is about; ``household_id`` the
    household a new member (or a year's economics, a guarantee check) belongs to;
    ``base_version`` the version the phone saw; ``data`` the fields, as the single-entity
    endpoint takes them."""

    model_config = ConfigDict(extra="forbid")

    item_id: UUID = Field(description="The client's id of this item (a UUID it made).")
    op: str = Field(examples=["patch"])
    entity: str = Field(examples=["member"])
    id: UUID | None = None
    household_id: UUID | None = None
    base_version: int | None = Field(default=None, ge=1)
    data: dict[str, Any] = Field(default_factory=dict)


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[BatchItem] = Field(min_length=1, max_length=MAX_ITEMS)
    atomic: bool = Field(
        default=False,
        description="`false`: each item on its own, in order (one bad item stops no other); "
        "`true`: all or nothing (an item rejected or in hard conflict writes none).",
    )


class ItemError(BaseModel):
    field: str = Field(examples=["data.id_number"])
    code: str = Field(examples=["id_number.checksum"])
    message: str


class ItemAnswer(BaseModel):
    item_id: UUID
    status: Literal["applied", "conflict", "rejected"] = Field(
        description="`applied` (written; `version` is the new one), `conflict` (see "
        "`conflict`), `rejected` (nothing written; `code`, `errors`)."
    )
    id: UUID | None = Field(default=None, description="The entity written or refused.")
    version: int | None = Field(
        default=None, description="The entity's version after the item (a hard conflict: now)."
    )
    conflict: Literal["soft", "hard"] | None = Field(
        default=None,
        description="`soft`: the entity changed since `base_version` in other fields, and the "
        "item was applied on top; `hard`: the changes overlap the item's fields, nothing was "
        "written (read it again, decide, resend as a new item).",
    )
    fields: list[str] = Field(
        default=[], description="A conflict: the fields changed since `base_version`."
    )
    code: str | None = Field(default=None, examples=["member.not_found", "batch.item_reused"])
    errors: list[ItemError] = []
    detail: str | None = Field(default=None, description="What happened, in the reader's language.")
    http_status: int = Field(
        description="What the single-entity request would have answered (200, 201, 404, 409, "
        "422...); 409 for an `item_id` resent with other content."
    )
    replayed: bool = Field(default=False, description="The first answer to a resent item_id.")


class BatchAnswer(BaseModel):
    batch_id: UUID
    atomic: bool
    applied: int
    conflicts: int
    rejected: int
    items: list[ItemAnswer]
