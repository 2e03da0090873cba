from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.funds.types import PositiveMoney
from shared.i18n import t
from shared.money import Money, NonNegativeMoney


class ProjectKind(StrEnum):
    """Project kind (项目类型): `industry` 产业发展, `infrastructure` 基础设施, `employment` 就业, `education`
    教育, `health` 健康/医疗, `housing` 住房安全, `drinking_water` 饮水安全, `other` 其他."""

    industry = "industry"  # 产业发展
    infrastructure = "infrastructure"  # 基础设施
    employment = "employment"  # 就业
    education = "education"
    health = "health"
    housing = "housing"
    drinking_water = "drinking_water"
    other = "other"


class ProjectStatus(StrEnum):
    """Project status (项目库 lifecycle): `proposed` 入库, `approved` 审批, `in_progress` 实施中,
    `completed` 完工, `accepted` 验收, `cancelled` 取消."""

    proposed = "proposed"
    approved = "approved"
    in_progress = "in_progress"
    completed = "completed"
    accepted = "accepted"  # 验收
    cancelled = "cancelled"


class ProjectAction(StrEnum):
    """Project actions, by county officers: `approve` (proposed → approved), `start` (approved →
    in_progress), `complete` (in_progress → completed), `accept` (completed → accepted, 验收),
    `cancel` (before completion)."""

    approve = "approve"
    start = "start"
    complete = "complete"
    accept = "accept"
    cancel = "cancel"


class ProjectCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "丰都村食用菌种植基地",
                    "county_code": "522301000000",
                    "kind": "industry",
                    "budget": "800000.00",
                    "fiscal_year": 2025,
                    "fund_ids": ["3fa85f64-5717-4562-b3fc-2c963f66afa6"],
                    "beneficiary_household_ids": ["0b8e6f0e-8b1c-4a57-9f0e-3c1d2a4b5c6d"],
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    county_code: str = Field(pattern=r"^[0-9]{6}000000$", description="A county-level code.")
    kind: ProjectKind
    budget: NonNegativeMoney
    fiscal_year: int | None = Field(default=None, ge=2000, le=2100)
    fund_ids: list[UUID] = Field(min_length=1, max_length=50)
    beneficiary_household_ids: list[UUID] = Field(default_factory=list, max_length=5000)


class ProjectRead(BaseModel):
    id: UUID
    name: str
    county_code: str
    kind: ProjectKind
    fiscal_year: int
    budget: Money
    paid: Money = Field(description="Net of reversals; confirmed where confirmation is due.")
    awaiting_confirmation: Money = Field(
        description="Recorded above the threshold, not yet confirmed (reserved, not paid)."
    )
    remaining: Money = Field(description="Budget less paid and awaiting confirmation.")
    status: ProjectStatus
    status_changed_at: datetime
    fund_ids: list[UUID]
    beneficiary_household_ids: list[UUID]
    version: int
    created_at: datetime


class ProjectActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: ProjectAction
    note: str = Field(default="", max_length=500)


class NoticeSubject(StrEnum):
    """What a public notice (公告公示) is about: `project` or `asset`."""

    project = "project"
    asset = "asset"


class NoticePurpose(StrEnum):
    """Why a notice is posted: `plan` (项目计划公示, before approval), `results` (验收结果公示, before
    acceptance), `other`."""

    plan = "plan"  # 项目计划公示, before approval
    results = "results"  # 验收结果公示, before acceptance
    other = "other"


class NoticeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_type: NoticeSubject
    subject_id: UUID
    purpose: NoticePurpose = NoticePurpose.plan
    starts_on: date = Field(
        description="The day the notice goes up: the posting day (China time) or later"
    )
    ends_on: date
    content: str = Field(min_length=1, max_length=5000)

    @model_validator(mode="after")
    def _period(self) -> "NoticeCreate":
        if self.ends_on < self.starts_on:
            raise ValueError(t("ends_on may not be before starts_on", "notice.ends_before_start"))
        return self


class NoticeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    subject_type: NoticeSubject
    subject_id: UUID
    purpose: NoticePurpose
    region_code: str
    starts_on: date
    ends_on: date
    content: str
    created_at: datetime


class PaymentCreate(BaseModel):
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
    created_at: datetime
