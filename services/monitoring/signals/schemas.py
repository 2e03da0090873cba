from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.monitoring.signals import kinds
from services.monitoring.signals.kinds import SignalSource
from shared import clock, idnumber
from shared.i18n import t
from shared.money import NonNegativeMoney
from shared.request_model import RequestModel

__all__ = ["SignalSource"]


class SignalIn(RequestModel):
    source: SignalSource
    # A plain string when read, so an unknown kind rejects its item rather than the batch;
    # documented as the enum it is, each value with its Chinese name.
    kind: str = Field(
        min_length=1,
        max_length=40,
        examples=["out_of_pocket_medical", "disaster_loss", "dropout", "car"],
        description=kinds.describe(),
        json_schema_extra={
            "enum": list(kinds.ALL_KINDS),
            "x-enum-descriptions": {
                kind: name for source in kinds.KINDS.values() for kind, name in source.items()
            },
            "x-kinds-by-source": {
                str(source): list(names) for source, names in kinds.KINDS.items()
            },
        },
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
            raise ValueError(*exc.args) from None
        return idnumber.normalize(value)

    @model_validator(mode="after")
    def _someone(self) -> "SignalIn":
        if self.id_number is None and self.household_id is None:
            raise ValueError(
                t(
                    "name the person (id_number) or the household (household_id)",
                    "signal.subject_required",
                )
            )
        if self.occurred_on > clock.today():
            raise ValueError(t("occurred_on may not be in the future", "signal.future_date"))
        return self


class SignalBatch(RequestModel):
    items: list[SignalIn] = Field(min_length=1, max_length=5000)


class SignalResult(BaseModel):
    external_ref: str
    source: str
    id: UUID | None = Field(description="The stored signal; null for a rejected item.")
    status: Literal["created", "duplicate", "rejected"] = Field(
        description="`created` (已接收), `duplicate` (already received: nothing changed) or "
        "`rejected` (not stored; `reason` says why)"
    )
    matched: bool
    household_id: UUID | None
    reason: str | None = Field(
        default=None, description="Why the item was rejected, in the reader's language."
    )
    code: str | None = Field(
        default=None, description="The rejection's stable code, e.g. `signal.unknown_kind`."
    )


class SignalBatchResult(BaseModel):
    items: list[SignalResult]
    created: int
    duplicates: int
    unmatched: int
    rejected: int = 0


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
