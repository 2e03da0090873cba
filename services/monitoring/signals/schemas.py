from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from services.monitoring.signals import kinds
from services.monitoring.signals.kinds import SignalSource
from shared import clock, idnumber
from shared.errors import FieldError, validation_message
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

    @field_validator("occurred_on")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > clock.today():
            raise ValueError(t("occurred_on may not be in the future", "signal.future_date"))
        return value

    @model_validator(mode="after")
    def _someone(self) -> "SignalIn":
        if self.id_number is None and self.household_id is None:
            raise ValueError(
                t(
                    "name the person (id_number) or the household (household_id)",
                    "signal.subject_required",
                )
            )
        return self


class UnreadableSignal(BaseModel):
    """An item that does not fit ``SignalIn`` (a bad ID number, a missing date, an unknown
    field...): answered ``rejected`` with its field errors, while the rest of the batch lands."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: str | None
    external_ref: str | None
    errors: list[FieldError]


# A model-level refusal has no field of its own: the one it is about.
_MODEL_ERROR_FIELD = {"signal.subject_required": "id_number"}


def _item_field(error: Any, message: Any) -> str:
    loc = ".".join(str(part) for part in error.get("loc", ()))
    return loc or _MODEL_ERROR_FIELD.get(getattr(message, "code", None) or "", "item")


def _signal_or_unreadable(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Validate one item on its own, so one bad item rejects that item, not the batch."""
    try:
        return SignalIn.model_validate(value)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            message = validation_message(error)
            errors.append(FieldError(field=_item_field(error, message), message=message))
        given = value if isinstance(value, dict) else {}
        source, ref = given.get("source"), given.get("external_ref")
        return UnreadableSignal(
            source=source if isinstance(source, str) else None,
            external_ref=ref if isinstance(ref, str) else None,
            errors=errors,
        )


# The docs show the signal's shape; an item that does not fit it becomes an UnreadableSignal.
SignalItem = Annotated[
    SignalIn | SkipJsonSchema[UnreadableSignal], WrapValidator(_signal_or_unreadable)
]


class SignalBatch(RequestModel):
    items: list[SignalItem] = Field(
        min_length=1,
        max_length=5000,
        description="Each item is validated on its own: a malformed one is answered "
        "`rejected` with its field errors and the others are stored.",
    )


class ItemError(BaseModel):
    """One refused field of one item, as in a problem's `errors`."""

    field: str = Field(examples=["id_number"])
    code: str = Field(examples=["id_number.checksum"])
    message: str = Field(examples=["校验码不符（应为 X）"])


class SignalResult(BaseModel):
    index: int = Field(description="The item's position in the batch, from 0.")
    external_ref: str | None = Field(description="As sent; null when it was not readable.")
    source: str | None
    id: UUID | None = Field(description="The stored signal; null for a rejected item.")
    status: Literal["created", "duplicate", "rejected"] = Field(
        description="`created` (已接收), `duplicate` (already received, also earlier in this "
        "batch: nothing changed, `id` is the signal first received) or `rejected` (not "
        "stored; `code` and `errors` say why)"
    )
    matched: bool
    household_id: UUID | None
    reason: str | None = Field(
        default=None, description="Why the item was rejected, in the reader's language."
    )
    code: str | None = Field(
        default=None,
        description="The rejection's stable code (its first field error's), e.g. "
        "`signal.unknown_kind`, `id_number.checksum`, `validation.missing`.",
    )
    errors: list[ItemError] = Field(
        default=[], description="A rejected item's refused fields (field, code, message)."
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
    version: int
    alert_ids: list[UUID] = Field(
        default=[], description="The alerts this signal raised or stands behind (预警)."
    )
