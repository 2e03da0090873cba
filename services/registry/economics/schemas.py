from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import ConfigDict, Field

from shared.money import Money, NonNegativeMoney
from shared.request_model import RequestModel

ZERO = Decimal("0.00")
FIRST_YEAR = 2014
"""The first year of economics the register holds: 建档立卡 began in 2014."""


class EconomicsInput(RequestModel):
    """One year's income (收入) and rigid expenses (刚性支出) of a household, in yuan."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "wage": "18000.00",
                    "operating": "3500.00",
                    "property": "0.00",
                    "transfer": "2400.00",
                    "medical_out_of_pocket": "6000.00",
                    "education": "1200.00",
                    "disaster_loss": "0.00",
                    "other_rigid": "0.00",
                }
            ]
        }
    )

    wage: NonNegativeMoney = Field(default=ZERO, description="工资性收入")
    operating: NonNegativeMoney = Field(default=ZERO, description="生产经营性净收入")
    property: NonNegativeMoney = Field(default=ZERO, description="财产性收入")
    transfer: NonNegativeMoney = Field(default=ZERO, description="转移性收入")
    medical_out_of_pocket: NonNegativeMoney = Field(default=ZERO, description="医疗自付支出")
    education: NonNegativeMoney = Field(default=ZERO, description="教育支出")
    disaster_loss: NonNegativeMoney = Field(default=ZERO, description="灾害损失")
    other_rigid: NonNegativeMoney = Field(default=ZERO, description="其他刚性支出 (accidents...)")


class EconomicsRead(EconomicsInput):
    model_config = ConfigDict(from_attributes=True, extra="ignore")  # an answer may grow

    household_id: UUID
    year: int
    region_code: str
    net_income: Money = Field(description="wage + operating + property + transfer")
    rigid_expenses: Money
    resident_members: int
    per_capita_net_income: Money = Field(
        description="(net_income - rigid_expenses) / resident_members"
    )
    version: int
    updated_at: datetime
