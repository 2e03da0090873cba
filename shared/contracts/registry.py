"""What the registry publishes (change feed) and accepts from the other services.

Monitoring follows ``GET /v1/changes`` and keeps its own projection from these snapshots;
monitoring and funds write measures and the monitored category through the registry API."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.money import Money, NonNegativeMoney


class HouseholdCategory(StrEnum):
    """Household category (户类型): `poverty_alleviated` 脱贫户 (lifted out of poverty, in the 建档立卡
    register), `monitored` 监测户 (under 防止返贫 monitoring), `ordinary` 一般农户 (any other rural
    household)."""

    poverty_alleviated = "poverty_alleviated"  # 脱贫户
    monitored = "monitored"  # 监测户
    ordinary = "ordinary"  # 一般农户


class ChangeEntity(StrEnum):
    """What a change event is about: `household`, `member`, `economics` (a year's income and
    rigid expenses), `guarantee` (两不愁三保障 and drinking water), `measure` (a help measure,
    帮扶措施)."""

    household = "household"
    member = "member"
    economics = "economics"
    guarantee = "guarantee"
    measure = "measure"


class ChangeOp(StrEnum):
    """What happened: `create`, `update`, `depart` (a member left the household: death, marriage
    out, moving; the record is kept), `delete`."""

    create = "create"
    update = "update"
    depart = "depart"  # a member left (death, marriage out, moving)
    delete = "delete"


class HouseholdSnapshot(BaseModel):
    """``data`` of a ``household`` change event."""

    id: UUID
    region_code: str
    household_no: str
    category: HouseholdCategory
    relocated: bool
    at_risk: bool
    poverty_causes: list[str] = []
    external_ids: dict[str, str] = {}


class MemberSnapshot(BaseModel):
    """``data`` of a ``member`` change event (the full ID number: only service and county+
    roles read the feed unmasked)."""

    id: UUID
    household_id: UUID
    region_code: str
    name: str | None
    id_number: str | None
    relation: str
    sex: str
    birth_date: date
    in_school: bool
    schooling_stage: str | None
    health: str
    disability_grade: int
    labour_capacity: str
    migrant_work_months: int
    medical_insurance: bool
    pension_insurance: bool
    dibao: bool
    tekun: bool
    departed_on: date | None
    departure_reason: str | None


class EconomicsSnapshot(BaseModel):
    """``data`` of an ``economics`` change event: one household-year."""

    household_id: UUID
    year: int
    region_code: str
    wage: Money
    operating: Money
    property: Money
    transfer: Money
    medical_out_of_pocket: Money
    education: Money
    disaster_loss: Money
    other_rigid: Money
    net_income: Money
    rigid_expenses: Money
    resident_members: int
    per_capita_net_income: Money


class GuaranteeSnapshot(BaseModel):
    """``data`` of a ``guarantee`` change event: the latest check of one guarantee."""

    household_id: UUID
    region_code: str
    kind: str
    ok: bool
    checked_on: date
    note: str = ""


class MeasureSnapshot(BaseModel):
    """``data`` of a ``measure`` change event."""

    id: UUID
    household_id: UUID
    region_code: str
    kind: str
    start: date
    end: date | None
    amount: Money | None
    project_id: UUID | None
    responsible_cadre_id: UUID | None
    case_id: UUID | None = None


class ChangeEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    entity: ChangeEntity
    entity_id: str
    household_id: UUID | None
    region_code: str
    op: ChangeOp
    at: datetime
    data: dict[str, Any]


class ChangePage(BaseModel):
    items: list[ChangeEventRead]
    next_cursor: str = Field(description="Pass as `after` to continue; stable across calls.")


class FeedPosition(BaseModel):
    position: str = Field(
        description="The cursor after the last change committed so far (opaque, like next_cursor)."
    )


class MeasureKind(StrEnum):
    """Help measure kinds (帮扶措施, domain.md section 4).

    `industry` 产业, `employment` 就业 (务工, 公益岗位, 扶贫车间), `training` 雨露计划/技能培训, `education` 教育资助,
    `health` 医疗保障, `housing` 危房改造, `drinking_water` 饮水安全, `social_security` 低保/特困兜底,
    `relocation_follow_up` 易地扶贫搬迁后续扶持, `microcredit` 扶贫小额信贷, `insurance` 防贫保险."""

    industry = "industry"  # 产业
    employment = "employment"  # 就业 (务工, 公益岗位, 扶贫车间)
    training = "training"  # 雨露计划, 技能培训
    education = "education"  # 教育资助
    health = "health"  # 医疗保障
    housing = "housing"  # 危房改造
    drinking_water = "drinking_water"  # 饮水安全
    social_security = "social_security"  # 低保 / 特困 兜底
    relocation_follow_up = "relocation_follow_up"  # 易地扶贫搬迁后续扶持
    microcredit = "microcredit"  # 扶贫小额信贷
    insurance = "insurance"  # 防贫保险


# Measures that build the household's own capacity (开发式帮扶), as opposed to safety nets.
DEVELOPMENT_MEASURES = frozenset(
    {
        MeasureKind.industry,
        MeasureKind.employment,
        MeasureKind.training,
        MeasureKind.microcredit,
        MeasureKind.relocation_follow_up,
    }
)


class MeasureCreate(BaseModel):
    """``POST /v1/households/{id}/measures``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "employment",
                    "description": "公益性岗位: 护林员",
                    "start": "2025-03-01",
                    "end": "2025-12-31",
                    "amount": "6000.00",
                }
            ]
        }
    )

    kind: MeasureKind
    description: str = Field(default="", max_length=500)
    start: date
    end: date | None = None
    amount: NonNegativeMoney | None = None
    project_id: UUID | None = None
    responsible_cadre_id: UUID | None = None
    case_id: UUID | None = Field(default=None, description="The monitoring case that asked for it.")


class CategoryChange(BaseModel):
    """``PUT /v1/households/{id}/category``: how monitoring marks a household 监测户 and
    restores its category when the risk is eliminated."""

    category: HouseholdCategory
    reason: str = Field(min_length=1, max_length=300)
    case_id: UUID | None = None


__all__ = ["Decimal"]
