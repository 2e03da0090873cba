from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from services.funds.types import PositiveMoney
from shared.i18n import t
from shared.money import Money, NonNegativeMoney
from shared.request_model import RequestModel

Weight = Annotated[
    Decimal,
    PlainSerializer(lambda d: format(d.normalize(), "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,4})?$", "examples": ["30"]}),
]
"""A share's weight, a decimal string like money (a float would not split exactly)."""


class AssetKind(StrEnum):
    """Asset kind (扶贫项目资产): `operating` 经营性 (earns income to distribute), `public_welfare` 公益性
    (roads, water works), `household` 到户类 (given to households)."""

    operating = "operating"  # 经营性
    public_welfare = "public_welfare"  # 公益性
    household = "household"  # 到户类


class OwnerType(StrEnum):
    """Who owns an asset (确权): `village_collective` 村集体, `household` 农户, `other` 其他主体."""

    village_collective = "village_collective"
    household = "household"
    other = "other"


class AssetStatus(StrEnum):
    """`active` (in use), `disposal_requested` (处置申请), `disposal_approved` (county approved),
    `disposed` (处置完成)."""

    active = "active"
    disposal_requested = "disposal_requested"
    disposal_approved = "disposal_approved"
    disposed = "disposed"


class AssetCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "project_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                    "kind": "operating",
                    "name": "食用菌大棚 20 个",
                    "value": "800000.00",
                    "owner_type": "village_collective",
                    "owner_id": "522301100001",
                    "custodian": "丰都村股份经济合作社",
                    "location": "丰都村一组",
                }
            ]
        },
    )

    project_id: UUID
    kind: AssetKind
    name: str = Field(min_length=1, max_length=200)
    value: NonNegativeMoney
    owner_type: OwnerType
    owner_id: str = Field(
        min_length=1,
        max_length=64,
        description="village_collective: the village code; household: the household id.",
    )
    custodian: str = Field(min_length=1, max_length=200, description="管护主体")
    location: str = Field(default="", max_length=300)
    region_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{12}$",
        description="Where the asset is (a township or village of the project's county); "
        "default: the village of a collective owner, else the county.",
    )


class AssetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    project_id: UUID
    region_code: str
    kind: AssetKind
    name: str
    value: Money
    owner_type: OwnerType
    owner_id: str
    custodian: str
    location: str
    status: AssetStatus
    disposal_method: str | None
    disposal_reason: str | None
    disposal_requested_by: str | None
    disposal_approved_by: str | None
    disposal_proceeds: Money | None
    disposed_on: date | None
    version: int
    created_at: datetime


class IncomeCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(
        pattern=r"^[0-9]{4}(-(0[1-9]|1[0-2]|Q[1-4]|H[12]))?$",
        description="2026, 2026-Q1, 2026-H1 or 2026-03",
    )
    amount: PositiveMoney


class IncomeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    asset_id: UUID
    period: str
    amount: Money
    created_at: datetime
    distributed: bool = False


class RecipientType(StrEnum):
    """Who receives a share of asset income (收益分配): `household` 农户, `public_welfare_job` 公益岗位,
    `village_works` 村级小型公益事业."""

    household = "household"
    public_welfare_job = "public_welfare_job"  # 公益岗位
    village_works = "village_works"  # 村级小型公益事业


class ShareIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    recipient_type: RecipientType
    household_id: UUID | None = None
    label: str = Field(default="", max_length=200)
    amount: NonNegativeMoney | None = None
    weight: Weight | None = Field(default=None, gt=0, max_digits=14, decimal_places=4)

    @model_validator(mode="after")
    def _shape(self) -> "ShareIn":
        if (self.recipient_type is RecipientType.household) != (self.household_id is not None):
            raise ValueError(
                t(
                    "household_id is given exactly for household shares",
                    "distribution.household_share",
                )
            )
        if (self.amount is None) == (self.weight is None):
            raise ValueError(t("give either amount or weight", "distribution.amount_or_weight"))
        return self


class DistributionCreate(RequestModel):
    """Shares of one period's income: explicit amounts that add up exactly to the income,
    or weights, split by the largest-remainder method (each share rounded down to the fen,
    the fen left over go one each to the largest remainders, ties to the earlier share)."""

    model_config = ConfigDict(extra="forbid")

    income_id: UUID
    shares: list[ShareIn] = Field(min_length=1, max_length=5000)
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _one_method(self) -> "DistributionCreate":
        weighted = {s.weight is not None for s in self.shares}
        if len(weighted) > 1:
            raise ValueError(
                t(
                    "use amounts for every share or weights for every share",
                    "distribution.mixed_shares",
                )
            )
        return self


class ShareRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    recipient_type: RecipientType
    household_id: UUID | None
    label: str
    weight: Weight | None
    amount: Money


class DistributionRead(BaseModel):
    id: UUID
    asset_id: UUID
    income_id: UUID
    method: str
    note: str
    total: Money
    shares: list[ShareRead]
    created_at: datetime


class DisposalAction(StrEnum):
    """Asset disposal steps (资产处置): `request` (申请), `approve` (county approval), `reject`
    (refused), `complete` (done)."""

    request = "request"
    approve = "approve"
    reject = "reject"
    complete = "complete"


class DisposalMethod(StrEnum):
    """How an asset is disposed of: `auction` 拍卖, `transfer` 转让, `change_of_use` 改变用途,
    `suspension` 停用, `write_off` 报损核销, `scrapping` 报废."""

    auction = "auction"  # 拍卖
    transfer = "transfer"  # 转让
    change_of_use = "change_of_use"  # 改变用途
    suspension = "suspension"  # 停用
    write_off = "write_off"  # 报损核销
    scrapping = "scrapping"  # 报废


class DisposalRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    action: DisposalAction
    method: DisposalMethod | None = None
    reason: str = Field(default="", max_length=500)
    proceeds: NonNegativeMoney | None = None
    disposed_on: date | None = None

    @model_validator(mode="after")
    def _fields(self) -> "DisposalRequest":
        if self.action is DisposalAction.request and (self.method is None or not self.reason):
            raise ValueError(
                t(
                    "a disposal request names its method and reason",
                    "asset.disposal_reason_required",
                )
            )
        if self.action is DisposalAction.complete and self.disposed_on is None:
            raise ValueError(
                t("completing a disposal records disposed_on", "asset.disposed_on_required")
            )
        return self
