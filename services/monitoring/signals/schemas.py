from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared import idnumber
from shared.money import NonNegativeMoney


class SignalSource(StrEnum):
    """The department that sent a signal (行业部门): `medical_insurance` 医保, `civil_affairs` 民政,
    `education` 教育, `housing` 住建, `emergency` 应急管理, `human_resources` 人社, `public_security`
    公安, `disability` 残联."""

    medical_insurance = "medical_insurance"  # 医保
    civil_affairs = "civil_affairs"  # 民政
    education = "education"  # 教育
    housing = "housing"  # 住建
    emergency = "emergency"  # 应急管理
    human_resources = "human_resources"  # 人社
    public_security = "public_security"  # 公安
    disability = "disability"  # 残联


class SignalIn(BaseModel):
    source: SignalSource
    kind: str = Field(
        min_length=1,
        max_length=40,
        examples=["out_of_pocket_medical", "disaster_loss", "dropout", "car"],
    )
    id_number: str | None = None
    household_id: UUID | None = None
    amount: NonNegativeMoney | None = None
    occurred_on: date
    external_ref: str = Field(min_length=1, max_length=100)

    @field_validator("id_number")
    @classmethod
    def _valid_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            idnumber.parse(value)
        except idnumber.InvalidIdNumber as exc:
            raise ValueError(str(exc)) from None
        return idnumber.normalize(value)

    @model_validator(mode="after")
    def _someone(self) -> "SignalIn":
        if self.id_number is None and self.household_id is None:
            raise ValueError("name the person (id_number) or the household (household_id)")
        if self.occurred_on > date.today():
            raise ValueError("occurred_on may not be in the future")
        return self


class SignalBatch(BaseModel):
    items: list[SignalIn] = Field(min_length=1, max_length=5000)


class SignalResult(BaseModel):
    external_ref: str
    source: str
    id: UUID
    status: str = Field(description="created | duplicate (already received: nothing changed)")
    matched: bool
    household_id: UUID | None


class SignalBatchResult(BaseModel):
    items: list[SignalResult]
    created: int
    duplicates: int
    unmatched: int


class SignalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    source: str
    kind: str
    external_ref: str
    id_number: str | None
    household_id: UUID | None
    region_code: str
    amount: Decimal | None
    occurred_on: date
    received_at: datetime
    matched_at: datetime | None
