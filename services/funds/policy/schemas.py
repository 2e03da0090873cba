from decimal import Decimal

from pydantic import ConfigDict, Field, field_serializer

from services.funds.policy.models import PAYMENT_CONFIRMATION_THRESHOLD
from shared.money import NonNegativeMoney
from shared.request_model import RequestModel


class FundsPolicyFields(RequestModel):
    """The funds rules' figures (*policy*, domain.md section 5)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    notice_days: int = Field(ge=1, le=365, description="Minimum days of a public notice (10).")
    idle_days: int = Field(ge=1, le=3650, description="Allocated but unpaid this long: idle (90).")
    stall_days: int = Field(ge=1, le=3650, description="No progress this long: stalled (180).")
    results_notice_days: int = Field(
        ge=1, le=365, description="Completed this long without a results notice: flagged (30)."
    )
    asset_idle_days: int = Field(ge=1, le=3650, description="Operating asset without income (365).")
    undistributed_days: int = Field(ge=1, le=3650, description="Income not distributed (90).")
    industry_share_min: Decimal = Field(
        ge=0,
        le=1,
        max_digits=5,
        decimal_places=4,
        description="Minimum share of central linking funds spent on industry (0.55; 0.60 "
        "from 2023).",
    )

    industry_share_keep_previous: bool = Field(
        default=False,
        description="The industry share may also not fall below the county's previous year's "
        "(2021-2022).",
    )

    payment_confirmation_threshold: NonNegativeMoney | None = Field(
        default=None,
        description="A payment above this many yuan counts as paid only once a second county "
        "account confirms it. Omitted: the province's figure for a county, "
        f"{PAYMENT_CONFIRMATION_THRESHOLD} for the province. A county may only lower it.",
    )

    @field_serializer("industry_share_min")
    def _ratio(self, value: Decimal) -> float:
        return float(value)  # a ratio is a JSON number (api.md); money never is


class FundsPolicyRead(FundsPolicyFields):
    region_code: str = Field(description="The region whose row is in force (county or province).")
    year: int = Field(description="The year that row took effect.")
