from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.registry import MeasureCreate, MeasureRead
from shared.request_model import RequestModel

__all__ = ["MeasureCreate", "MeasureRead"]


class CadreCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "李书记",
                    "region_code": "522301000000",
                    "unit": "兴义市农业农村局",
                    "rank": "county",
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=50)
    region_code: str = Field(description="Where the cadre works (county, township or village)")
    phone: str | None = Field(default=None, max_length=20)
    unit: str = Field(default="", max_length=100, description="工作单位")
    rank: str = Field(
        default="other",
        pattern="^(county|section|other)$",
        description="county-level, section-level or other (the 10+5+2 pairing rule)",
    )


class CadreRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    region_code: str
    phone: str | None
    unit: str
    rank: str
    version: int
    households: int = Field(default=0, description="Households paired with this cadre")
    pairing_target: int = Field(
        default=2, description="The 10+5+2 practice: county-level 10, section-level 5, others 2"
    )


class PairingCreate(RequestModel):
    household_ids: list[UUID] = Field(min_length=1, max_length=100)


class PairingResult(BaseModel):
    cadre_id: UUID
    paired: list[UUID] = Field(description="Newly paired households")
    already_paired: list[UUID]
    total_households: int
