from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared import regions
from shared.i18n import t
from shared.regions import RegionLevel
from shared.request_model import RequestModel


def _check_code(value: str) -> str:
    if not regions.is_valid_code(value):
        raise ValueError(t("must be a 12-digit statistical division code", "region.code_format"))
    return value


class RegionUpsert(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "522301100001", "name": "丰都村", "parent_code": "522301100000"}]
        }
    )

    code: str
    name: str = Field(min_length=1, max_length=100)
    parent_code: str | None = None

    _code = field_validator("code")(_check_code)


class RegionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    parent_code: str | None
    level: RegionLevel


class RegionUpsertResult(BaseModel):
    created: int
    updated: int
    unchanged: int
