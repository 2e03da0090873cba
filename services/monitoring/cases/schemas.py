from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contracts.registry import MeasureKind
from shared.i18n import t
from shared.money import NonNegativeMoney

# Risk type codes of the national system (风险类型), domain.md section 3.
RISK_TYPES = frozenset(
    {"01", "02", "0201", "0202", "0203", "0204", "0205", "0206", "0299"}
    | {"03", "04", "05", "06", "07", "09", "99"}
)


class Channel(StrEnum):
    scan = "scan"
    declaration = "declaration"
    cadre = "cadre"
    department = "department"


class Action(StrEnum):
    verify = "verify"
    reject = "reject"
    village_review = "village_review"
    publish_notice = "publish_notice"
    close_notice = "close_notice"
    township_review = "township_review"
    county_decide = "county_decide"
    add_measure = "add_measure"
    follow_up = "follow_up"
    propose_elimination = "propose_elimination"
    eliminate = "eliminate"
    keep_monitoring = "keep_monitoring"
    rollback = "rollback"


class CaseCreate(BaseModel):
    household_id: UUID
    channel: Channel
    alert_id: UUID | None = None
    declaration_code: str | None = Field(default=None, max_length=20)
    note: str = Field(default="", max_length=2000)


class Objection(BaseModel):
    content: str = Field(min_length=1, max_length=1000)
    upheld: bool = False


class MeasureRequest(BaseModel):
    """What ``add_measure`` asks the registry to record."""

    kind: MeasureKind
    description: str = Field(default="", max_length=500)
    start: date
    end: date | None = None
    amount: NonNegativeMoney | None = None
    project_id: UUID | None = None
    responsible_cadre_id: UUID | None = None


class CaseActionRequest(BaseModel):
    action: Action
    note: str = Field(default="", max_length=2000)
    evidence: list[Any] = Field(default_factory=list, max_length=50)
    result: str | None = Field(default=None, pattern="^(pass|reject)$")
    attendees: int | None = Field(default=None, ge=1, le=1000)
    starts_on: date | None = None
    ends_on: date | None = None
    objections: list[Objection] = Field(default_factory=list)
    monitored_type: int | None = Field(default=None, ge=1, le=3)
    risk_types: list[str] | None = Field(default=None, min_length=1, max_length=5)
    method: str | None = Field(default=None, pattern="^(help|natural)$")
    measure: MeasureRequest | None = None

    @field_validator("risk_types")
    @classmethod
    def _codes(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            unknown = sorted(set(value) - RISK_TYPES)
            if unknown:
                raise ValueError(
                    t("unknown risk type codes {codes}", "case.unknown_risk_type", codes=unknown)
                )
        return value


class CaseEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    from_stage: str | None
    to_stage: str
    actor: str
    actor_role: str
    note: str
    evidence: list[Any]
    details: dict[str, Any]
    at: datetime


class CaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    household_id: UUID | None
    region_code: str
    channel: str
    alert_id: UUID | None
    declaration_code: str | None
    stage: str
    policy_year: int
    policy_id: UUID | None = Field(
        description="The policy the case follows (deadlines, notice days, elimination)"
    )
    monitored_type: int | None
    risk_types: list[str]
    monitored_since: date | None
    notice_starts_on: date | None
    notice_ends_on: date | None
    elimination_notice_starts_on: date | None
    elimination_notice_ends_on: date | None
    elimination_method: str | None
    stage_entered_at: datetime
    due_at: datetime | None
    overdue: bool
    escalated_to: str | None
    escalated_level: str | None
    version: int
    created_at: datetime
    allowed_actions: list[str] = []
    timeline: list[CaseEventRead] = []
