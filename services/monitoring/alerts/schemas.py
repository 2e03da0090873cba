from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.monitoring.alerts import rules
from services.monitoring.scores.schemas import IndicatorScore
from shared.request_model import RequestModel


class ScanMode(StrEnum):
    """`full` (every household of the region, 全面排查) or `incremental` (only households changed
    since the region's last scan)."""

    full = "full"
    incremental = "incremental"


class ScanCreate(RequestModel):
    region_code: str = Field(pattern=r"^[0-9]{12}$", examples=["522301000000"])
    year: int = Field(ge=2014, le=2100)
    mode: ScanMode = ScanMode.full


class ScanAccepted(BaseModel):
    scan_id: UUID
    state: str
    counties: int
    feed_position: str | None = Field(
        None, description="The registry change-feed position (cursor) the scan sees up to."
    )


class ScanCountyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    county_code: str
    state: str
    households_examined: int
    alerts_raised: int
    alerts_closed: int
    note: str | None


class ScanRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    region_code: str
    year: int
    mode: ScanMode
    state: str = Field(description="queued | running | done | failed")
    counties_total: int
    counties_done: int
    households_examined: int
    alerts_raised: int
    alerts_closed: int
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = Field(None, description="Why the scan failed (state failed)")
    feed_position: str | None = Field(
        None,
        description=(
            "The registry change-feed position (cursor) monitoring had reached when the scan "
            "chose its households: every registry change before it is seen."
        ),
    )
    duration_seconds: float | None = None
    counties: list[ScanCountyRead] = []


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    household_id: UUID
    region_code: str
    rule: str = Field(description=f"The rule that raised it (预警规则): {rules.described()}.")
    kind: str = Field(description="case: people decide on a case; review: an eligibility check")
    status: str = Field(description="`open` (待处置) or `closed` (已关闭, see `closed_reason`).")
    figures: dict[str, Any] = Field(description="The figures that triggered the rule")
    policy_id: UUID
    policy_year: int
    scan_id: UUID | None
    raised_at: datetime
    figures_updated_at: datetime
    closed_at: datetime | None
    closed_reason: str | None
    version: int = Field(description="1 when raised; each change of the alert adds one.")
    signal_ids: list[UUID] = Field(
        default=[],
        description="The department signals behind it (`GET /v1/alerts/{id}/signals`), for "
        "the signal rules; empty for the others.",
    )

    score: float | None = Field(
        None,
        description="风险评分: the household's risk score (0-100) when the alert was raised or "
        "last changed (`GET /v1/households/{id}/score` explains it); None if never scored.",
    )
    top_indicators: list[IndicatorScore] = Field(
        default=[], description="The score's three largest indicators by share, largest first."
    )

    @model_validator(mode="after")
    def _signals(self) -> "AlertRead":
        if not self.signal_ids:
            self.signal_ids = [UUID(str(i)) for i in self.figures.get("signal_ids") or []]
        return self
