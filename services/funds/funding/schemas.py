from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.funds.types import PositiveMoney
from shared.money import Money
from shared.request_model import RequestModel


class FundSource(StrEnum):
    """Where linking money comes from (domain.md section 5).

    `central` 中央衔接资金, `provincial` 省级, `city` 市级, `county` 县级, `east_west` 东西部协作, `donation`
    社会捐赠, `financial` 金融 (loans)."""

    central = "central"  # 中央衔接资金
    provincial = "provincial"
    city = "city"
    county = "county"
    east_west = "east_west"  # 东西部协作
    donation = "donation"  # 社会捐赠
    financial = "financial"  # 金融 (loans)


class FundCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "source": "central",
                    "fiscal_year": 2025,
                    "amount": "5000000.00",
                    "document_no": "黔财农〔2025〕12号",
                }
            ]
        },
    )

    source: FundSource
    fiscal_year: int = Field(ge=2000, le=2100)
    amount: PositiveMoney
    document_no: str = Field(min_length=1, max_length=100, description="文号")


class FundRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    region_code: str = Field(description="The region that holds the fund (its issuer).")
    source: FundSource
    fiscal_year: int
    amount: Money
    document_no: str
    allocated: Money = Field(description="Allocated by the holding region to regions below.")
    unallocated: Money
    paid: Money = Field(description="Paid out of this fund by projects (net of reversals).")
    version: int
    created_at: datetime


class AllocationCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "fund_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "region_code": "522301000000",
                    "amount": "1200000.00",
                    "purpose": "产业发展",
                }
            ]
        },
    )

    fund_id: UUID
    region_code: str = Field(pattern=r"^[0-9]{12}$", description="The receiving region.")
    amount: PositiveMoney
    purpose: str = Field(default="", max_length=300)
    from_region_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{12}$",
        description="The allocating region (default: the fund's). It may pass on only what it "
        "received of this fund.",
    )


class AllocationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    fund_id: UUID
    from_region_code: str
    region_code: str
    amount: Money
    purpose: str
    fiscal_year: int
    source: FundSource
    created_at: datetime
