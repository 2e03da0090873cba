from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.request_model import RequestModel

DeliveryStatus = Literal["pending", "succeeded", "failed"]
DELIVERY_STATUS_TEXT = (
    "`pending` (待推送: waiting for its first or next attempt), `succeeded` (已送达: the receiver "
    "answered 2xx), `failed` (失败: retries given up after the retry period)."
)


class WebhookCreate(RequestModel):
    url: str = Field(
        max_length=2000,
        description="https URL to POST events to (plain http only for hosts the operator "
        "allows). It must resolve to public addresses and accept a connection.",
        examples=["https://partner.example/povguard/webhooks"],
    )
    events: list[str] = Field(
        min_length=1,
        max_length=100,
        description='Event types (`household.updated`, `member.created`...) or `["*"]`.',
        examples=[["household.created", "household.updated"]],
    )
    region_code: str | None = Field(
        default=None,
        description="Only changes in this region (12 digits, inside yours; default: yours).",
        examples=["522301000000"],
    )


class WebhookCreated(BaseModel):
    id: UUID
    secret: str = Field(
        description="The signing secret (`whsec_...`), shown only now: keep it to verify "
        "`webhook-signature`."
    )


class Webhook(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    url: str
    events: list[str]
    region_code: str
    status: Literal["active", "disabled"] = Field(
        description="`active` (delivering) or `disabled` (停用: after deliveries failed for days; "
        "`status_reason` says why; a successful manual retry turns it back on)."
    )
    status_reason: str | None
    failing_since: datetime | None = Field(
        description="Since when every delivery has failed (null while deliveries succeed)."
    )
    created_at: datetime


class WebhookPage(BaseModel):
    items: list[Webhook]
    next_cursor: str | None = None


class Delivery(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="`webhook-id` is `msg_` and this id without dashes.")
    webhook_id: str
    event_type: str
    status: DeliveryStatus = Field(description=DELIVERY_STATUS_TEXT)
    attempts: int
    last_attempt_at: datetime | None
    last_status_code: int | None = Field(description="The receiver's answer (null: none).")
    last_latency_ms: int | None
    last_error: str | None
    next_attempt_at: datetime | None = Field(description="When it is tried next, if pending.")
    retry_until: datetime
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_cursor: str | None = None
