from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.funds.types import PositiveMoney
from shared.i18n import t
from shared.money import Money
from shared.request_model import RequestModel


class PaymentCreate(RequestModel):
    """A payment, or with ``reverses`` the reversal of one (amount, fund and household are
    then the original's)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "amount": "200000.00",
                    "payee": "兴义市某建筑公司",
                    "voucher_no": "记-2025-0315",
                    "paid_on": "2025-06-30",
                }
            ]
        },
    )

    amount: PositiveMoney | None = None
    payee: str | None = Field(default=None, min_length=1, max_length=200)
    voucher_no: str = Field(min_length=1, max_length=100, description="凭证号")
    paid_on: date
    household_id: UUID | None = Field(
        default=None, description="A beneficiary household (paid to its 一卡通 account)."
    )
    fund_id: UUID | None = Field(
        default=None, description="Which of the project's funds pays; needed if it has several."
    )
    reverses: UUID | None = Field(default=None, description="The payment this entry corrects.")

    @model_validator(mode="after")
    def _shape(self) -> "PaymentCreate":
        if self.reverses is None:
            if self.amount is None:
                raise ValueError(t("amount is required", "payment.amount_required"))
            if self.payee is None:
                raise ValueError(t("payee is required", "payment.payee_required"))
        elif self.household_id is not None or self.fund_id is not None:
            raise ValueError(
                t(
                    "a reversal takes fund and household from the payment it reverses",
                    "payment.reversal_fields",
                )
            )
        return self


class PaymentStatus(StrEnum):
    """`paid` (counts as paid) or `awaiting_confirmation` (above the confirmation threshold, not
    counted until a second officer confirms it)."""

    paid = "paid"  # counts as paid
    awaiting_confirmation = "awaiting_confirmation"  # above the threshold, not yet confirmed


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    project_id: UUID
    fund_id: UUID
    amount: Money
    payee: str | None = Field(description="Null for departments, who see no names.")
    voucher_no: str
    paid_on: date
    household_id: UUID | None
    reverses: UUID | None = Field(validation_alias="reverses_id")
    needs_confirmation: bool = Field(
        description="Above the funds policy's payment_confirmation_threshold when recorded "
        "(a reversal: as the payment it reverses)."
    )
    status: PaymentStatus = Field(
        default=PaymentStatus.paid,
        description="`awaiting_confirmation` until a second county account confirms it "
        "(POST .../payments/{payment_id}/confirm); only then does it count as paid.",
    )
    confirmed_by: str | None = Field(
        default=None, description="The confirming account (null for departments)."
    )
    created_by: str | None = Field(
        description="The account that recorded the entry (null for departments)."
    )
    version: int = Field(
        default=1,
        description="1 as recorded, 2 once a payment awaiting confirmation is confirmed (the "
        "entry itself is never changed)",
    )
    created_at: datetime
