from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.request_model import RequestModel


class ScanCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    region_code: str | None = Field(
        default=None, pattern=r"^[0-9]{12}$", description="Default: your region."
    )


class ScanRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    region_code: str
    state: str = Field(
        description="queued, running, done, skipped (another scan was running) or failed"
    )
    opened: int
    closed: int
    created_at: datetime
    finished_at: datetime | None
    error: str | None = Field(None, description="Why the scan failed (state failed)")


class FindingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    rule: str = Field(
        description="idle_funds, stalled_project, missing_notice, idle_asset, "
        "undistributed_income or industry_share"
    )
    region_code: str
    subject_type: str
    subject_id: str
    figures: dict[str, Any] = Field(description="The figures that raised it; money as strings.")
    status: str
    opened_at: datetime
