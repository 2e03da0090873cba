from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared import clock
from shared.i18n import t
from shared.request_model import RequestModel


class GuaranteeStatus(RequestModel):
    ok: bool
    checked_on: date
    note: str = Field(default="", max_length=500)

    @field_validator("checked_on")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > clock.today():
            raise ValueError(t("may not be in the future", "date.future"))
        return value


class GuaranteesInput(RequestModel):
    """两不愁三保障 and drinking water: send the ones you checked."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"housing_safety": {"ok": False, "checked_on": "2025-06-01", "note": "C级危房"}}
            ]
        }
    )

    food_clothing: GuaranteeStatus | None = Field(default=None, description="不愁吃、不愁穿")
    compulsory_education: GuaranteeStatus | None = Field(default=None, description="义务教育有保障")
    basic_medical: GuaranteeStatus | None = Field(default=None, description="基本医疗有保障")
    housing_safety: GuaranteeStatus | None = Field(default=None, description="住房安全有保障")
    drinking_water: GuaranteeStatus | None = Field(default=None, description="饮水安全有保障")


class GuaranteeCheckRead(GuaranteeStatus):
    model_config = ConfigDict(from_attributes=True, extra="ignore")  # an answer may grow

    kind: str
    recorded_at: datetime
    recorded_by: str


class GuaranteesRead(BaseModel):
    current: dict[str, GuaranteeCheckRead] = Field(description="The latest check of each guarantee")
    all_ok: bool
    history: list[GuaranteeCheckRead]
