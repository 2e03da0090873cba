"""What the registry publishes (change feed) and accepts from the other services.

Monitoring follows ``GET /v1/changes`` and keeps its own projection from these snapshots;
monitoring and funds write measures and the monitored category through the registry API."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.money import Money, NonNegativeMoney
from shared.request_model import RequestModel


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


class Relation(StrEnum):
    """Relation to the head of household (与户主关系): `head` 户主, `spouse` 配偶, `child` 子女, `parent`
    父母, `grandchild` 孙子女, `sibling` 兄弟姐妹, `in_law` 儿媳/女婿 and other in-laws, `other` 其他."""

    head = "head"
    spouse = "spouse"
    child = "child"
    parent = "parent"
    grandchild = "grandchild"
    sibling = "sibling"
    in_law = "in_law"
    other = "other"


class Sex(StrEnum):
    """Sex (性别), which must agree with the ID number's 17th digit: `male` 男, `female` 女."""

    male = "male"
    female = "female"


class Health(StrEnum):
    """Health (健康状况): `healthy` 健康, `chronic` 长期慢性病, `serious` 患有大病 (a serious illness)."""

    healthy = "healthy"
    chronic = "chronic"  # 长期慢性病
    serious = "serious"  # 患有大病


class LabourCapacity(StrEnum):
    """Labour capacity (劳动技能): `skilled` 技能劳动力, `ordinary` 普通劳动力, `weak` 弱劳动力或半劳动力, `none` 无劳动力
    (the `labour_loss` rule fires when no resident member has any)."""

    skilled = "skilled"  # 技能劳动力
    ordinary = "ordinary"  # 普通劳动力
    weak = "weak"  # 弱劳动力或半劳动力
    none = "none"  # 无劳动力


# A member who can work, in any measure (the `labour_loss` rule and the elimination check).
ABLE_TO_WORK = (LabourCapacity.skilled, LabourCapacity.ordinary, LabourCapacity.weak)


class SchoolingStage(StrEnum):
    """Schooling stage (在校生状况): `preschool` 学前, `primary` 小学, `junior` 初中, `senior` 高中,
    `vocational` 中职/高职, `college` 大学, `dropout` 失学辍学 (a school-age child out of school breaks
    义务教育有保障)."""

    preschool = "preschool"
    primary = "primary"
    junior = "junior"
    senior = "senior"
    vocational = "vocational"
    college = "college"
    dropout = "dropout"


class DepartureReason(StrEnum):
    """Why a member left (减员原因): `death` 死亡, `marriage_out` 婚出, `moved` 迁出, `duplicate` 重复
    登记 (a duplicate record confirmed by an officer, ``duplicate_of`` naming the record kept).
    The member's record and history are kept."""

    death = "death"
    marriage_out = "marriage_out"
    moved = "moved"
    duplicate = "duplicate"


class MemberFields(BaseModel):
    """What a cadre records about a member (家庭成员信息), apart from identity. Reads use it
    as it is, so rows stored under older rules still read; the registry's input rules are in
    its ``MemberInput``."""

    ethnicity: str = Field(
        default="汉族", max_length=20, description="民族, as written (汉族, 布依族...)."
    )
    education: str | None = Field(
        default=None, max_length=30, description="文化程度, as written (小学, 初中, 高中...)."
    )
    in_school: bool = Field(default=False, description="在校生: at school now.")
    schooling_stage: SchoolingStage | None = None
    health: Health = Health.healthy
    disability_grade: int = Field(
        default=0, ge=0, le=4, description="残疾等级: 0 none, 1 (most severe) to 4 (mildest)."
    )
    labour_capacity: LabourCapacity = LabourCapacity.ordinary
    migrant_work_months: int = Field(
        default=0, ge=0, le=12, description="务工时间: months of work away from home this year."
    )
    medical_insurance: bool = Field(
        default=True, description="参加城乡居民基本医疗保险 (basic medical insurance)."
    )
    pension_insurance: bool = Field(
        default=False, description="参加城乡居民基本养老保险 (basic pension insurance)."
    )
    dibao: bool = Field(default=False, description="低保: receives minimum living allowance.")
    tekun: bool = Field(default=False, description="特困供养: supported as extremely poor.")


# Events written before the feed carried whole states lack the fields marked "older events"
# below: a reader of the whole feed gets their defaults (``version`` 0 means "not known").
_OLDER = "Absent from events written before 2026-11 (then the default)."


class HouseholdSnapshot(BaseModel):
    """``data`` of a ``household`` event: the household's whole state after the change, as
    ``GET /v1/households/{id}`` shows it to the same reader (without its members, which have
    events of their own). Departments see no ``phone``."""

    id: UUID
    region_code: str
    household_no: str
    address: str = Field(default="", description=_OLDER)
    category: HouseholdCategory
    category_before_monitoring: HouseholdCategory | None = Field(default=None, description=_OLDER)
    poverty_causes: list[str] = []
    relocated: bool = False
    at_risk: bool = False
    external_ids: dict[str, str] = {}
    phone: str | None = Field(default=None, description=_OLDER)
    version: int = Field(default=0, description=_OLDER)
    created_at: datetime | None = Field(default=None, description=_OLDER)
    updated_at: datetime | None = Field(default=None, description=_OLDER)


class MemberSnapshot(MemberFields):
    """``data`` of a ``member`` event: the member's whole state after the change, as
    ``GET /v1/households/{id}`` shows it to the same reader: departments see no ``name``;
    roles below county level see a masked ``id_number`` and ``birth_year`` with a null
    ``birth_date``."""

    id: UUID
    household_id: UUID
    region_code: str
    name: str | None = Field(default=None, description="Absent for departments.")
    id_number: str | None
    relation: Relation
    sex: Sex
    birth_date: date | None
    birth_year: int | None = Field(default=None, description=_OLDER)
    resident: bool = Field(default=True, description="No departure recorded. " + _OLDER)
    departed_on: date | None = None
    departure_reason: DepartureReason | None = None
    duplicate_of: UUID | None = Field(
        default=None, description="The member kept when this one departed as a duplicate."
    )
    version: int = Field(default=0, description=_OLDER)

    @model_validator(mode="before")
    @classmethod
    def _derived_in_older_events(cls, data: Any) -> Any:
        """Older events carry neither ``resident`` nor ``birth_year``: both follow from what
        they do carry."""
        if isinstance(data, dict) and ("resident" not in data or "birth_year" not in data):
            birth = data.get("birth_date")
            year = birth.year if isinstance(birth, date) else None
            if isinstance(birth, str) and birth[:4].isdigit():
                year = int(birth[:4])
            return {
                "resident": data.get("departed_on") is None,
                "birth_year": year,
                **data,
            }
        return data


class EconomicsSnapshot(BaseModel):
    """``data`` of an ``economics`` change event: one household-year."""

    household_id: UUID
    year: int
    region_code: str
    wage: Money
    operating: Money
    property: Money
    transfer: Money
    medical_out_of_pocket: Money = Decimal("0.00")
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


# What ``data`` is for each kind of event: the entity's whole state after the change.
SNAPSHOTS: dict[ChangeEntity, type[BaseModel]] = {
    ChangeEntity.household: HouseholdSnapshot,
    ChangeEntity.member: MemberSnapshot,
    ChangeEntity.economics: EconomicsSnapshot,
    ChangeEntity.guarantee: GuaranteeSnapshot,
    ChangeEntity.measure: MeasureSnapshot,
}

Snapshot = (
    HouseholdSnapshot | MemberSnapshot | EconomicsSnapshot | GuaranteeSnapshot | MeasureSnapshot
)


class ChangeEventRead(BaseModel):
    """One event of ``GET /v1/changes``; ``data`` is the snapshot its ``entity`` names."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    entity: ChangeEntity
    entity_id: str
    household_id: UUID | None
    region_code: str
    op: ChangeOp
    at: datetime
    data: Snapshot

    @model_validator(mode="before")
    @classmethod
    def _data_by_entity(cls, value: Any) -> Any:
        # The entity says which snapshot ``data`` is; a union would guess from the keys.
        if isinstance(value, dict) and isinstance(value.get("data"), dict):
            try:
                model = SNAPSHOTS[ChangeEntity(str(value.get("entity")))]
            except (ValueError, KeyError):
                return value
            return {**value, "data": model.model_validate(value["data"])}
        return value


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


class MeasureFields(BaseModel):
    """A help measure as a caller asks for it (monitoring's ``add_measure`` action too)."""

    kind: MeasureKind
    description: str = Field(default="", max_length=500)
    start: date
    end: date | None = None
    amount: NonNegativeMoney | None = None
    project_id: UUID | None = None
    responsible_cadre_id: UUID | None = None


class MeasureCreate(MeasureFields, RequestModel):
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

    case_id: UUID | None = Field(default=None, description="The monitoring case that asked for it.")


class MeasureRead(BaseModel):
    """A recorded measure, as ``GET /v1/households/{id}/measures`` lists it (funds' trace)."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    household_id: UUID
    region_code: str
    kind: MeasureKind
    description: str
    start: date
    end: date | None
    amount: Money | None
    project_id: UUID | None
    responsible_cadre_id: UUID | None
    case_id: UUID | None
    version: int
    created_at: datetime


class HouseholdRef(BaseModel):
    """What another service needs of a household it names (``GET /v1/households/{id}``,
    read through ``RegistryClient``): which one it is and where it lives."""

    id: UUID
    region_code: str
    household_no: str
    category: HouseholdCategory
    version: int


class CategoryChange(RequestModel):
    """``PUT /v1/households/{id}/category``: how monitoring marks a household 监测户 and
    restores its category when the risk is eliminated."""

    category: HouseholdCategory
    reason: str = Field(min_length=1, max_length=300)
    case_id: UUID | None = None


class RegionHouseholds(BaseModel):
    region_code: str
    households: int
    monitored_households: int


class HouseholdStats(BaseModel):
    """``GET /v1/stats/households``: a region's households as the registry held them at
    ``as_of`` (now when not given), by category and per child region."""

    region_code: str
    as_of: datetime
    households_by_category: dict[str, int]
    children: list[RegionHouseholds]
    position: int | None = Field(description="The newest change-log entry counted (none: none).")
    seq: int | None = Field(description="That entry's seq.")
