from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contracts.registry import MeasureFields
from shared.i18n import t
from shared.request_model import RequestModel

# Risk type codes of the national system (风险类型), domain.md section 3.
RISK_TYPES = frozenset(
    {"01", "02", "0201", "0202", "0203", "0204", "0205", "0206", "0299"}
    | {"03", "04", "05", "06", "07", "09", "99"}
)

# Descriptions the OpenAPI document shows beside the fields that carry these codes.
MONITORED_TYPES = (
    "Monitored type (监测对象类型): `1` 脱贫不稳定户, `2` 边缘易致贫户, `3` 突发严重困难户."
)
RISK_TYPE_TEXT = (
    "Risk type codes (风险类型, up to five): `01` 因病, `02` 因灾 (`0201` 洪涝, `0202` 地质, `0203` 干旱, `0204` 生"
    "物, `0205` 气象, `0206` 地震, `0299` 其他灾害), `03` 因残, `04` 缺劳动力, `05` 因意外事故, `06` 因产业失败, `07` 因务工就业不稳, `09` 因学, `99` 其他."
)
STAGE_TEXT = (
    "Case stage (识别与帮扶程序): `discovered` 发现, `verified` 入户核实, `village_reviewed` 村级评议, `in_notice` 公示"
    "中, `notice_closed` 公示结束, `township_reviewed` 乡镇审核, `monitored` 已纳入监测 (帮扶中), `elimination_proposed` 拟风险消除, `eliminated` 风险已消除, `rejected` 未纳入."
)


class Channel(StrEnum):
    """How a case came to be (识别渠道): `scan` (an alert from the rules, 系统预警), `declaration` (a
    household's own 防贫申报), `cadre` (a cadre's visit, 干部排查), `department` (a partner
    department's signal, 部门筛查)."""

    scan = "scan"
    declaration = "declaration"
    cadre = "cadre"
    department = "department"


class Action(StrEnum):
    """Steps of the monitored-household procedure (识别程序, domain.md section 3): `verify` (village
    checks the facts, 入户核实), `reject` (not a case), `village_review` (村民代表评议),
    `publish_notice` (公示 starts, `starts_on`/`ends_on`), `close_notice` (公示 ends, with
    `objections`), `township_review` (乡镇审核, `result` pass|reject), `county_decide` (县级确定:
    `monitored_type` 1|2|3 and `risk_types`), `add_measure` (a help measure, 帮扶措施),
    `follow_up` (a visit, 跟踪回访), `propose_elimination` (propose 风险消除), `eliminate` (风险消除,
    `method` help|natural), `keep_monitoring` (elimination refused or postponed), `rollback`
    (undo the last step, with a reason)."""

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


class CaseCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"household_id": "0b8e6f0e-8b1c-4a57-9f0e-3c1d2a4b5c6d", "channel": "cadre"}
            ]
        }
    )

    household_id: UUID
    channel: Channel
    alert_id: UUID | None = None
    declaration_code: str | None = Field(default=None, max_length=20)
    note: str = Field(default="", max_length=2000)


class Objection(RequestModel):
    content: str = Field(min_length=1, max_length=1000)
    upheld: bool = False


class MeasureRequest(MeasureFields, RequestModel):
    """What ``add_measure`` asks the registry to record: the registry's measure, whose
    ``case_id`` is the case's own."""


class CaseActionRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "county_decide",
                    "note": "县级审定纳入监测",
                    "monitored_type": 3,
                    "risk_types": ["01"],
                }
            ]
        }
    )

    action: Action
    note: str = Field(default="", max_length=2000)
    evidence: list[Any] = Field(default_factory=list, max_length=50)
    result: str | None = Field(
        default=None,
        pattern="^(pass|reject)$",
        description="Reviews: `pass` 通过 or `reject` 不通过.",
    )
    attendees: int | None = Field(default=None, ge=1, le=1000)
    starts_on: date | None = None
    ends_on: date | None = None
    objections: list[Objection] = Field(default_factory=list)
    monitored_type: int | None = Field(
        default=None, ge=1, le=3, description="`county_decide`: " + MONITORED_TYPES
    )
    risk_types: list[str] | None = Field(
        default=None, min_length=1, max_length=5, description="`county_decide`: " + RISK_TYPE_TEXT
    )
    method: str | None = Field(
        default=None,
        pattern="^(help|natural)$",
        description="`eliminate`: `help` 帮扶消除 (risk removed by help) or `natural` 自然消除.",
    )
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
    channel: str = Field(
        description="How the case came to be (识别渠道): `scan`, `declaration`, `cadre`, `department`."
    )
    alert_id: UUID | None
    declaration_code: str | None
    stage: str = Field(description=STAGE_TEXT)
    policy_year: int
    policy_id: UUID | None = Field(
        description="The policy the case follows (deadlines, notice days, elimination)"
    )
    monitored_type: int | None = Field(description=MONITORED_TYPES)
    risk_types: list[str] = Field(description=RISK_TYPE_TEXT)
    monitored_since: date | None
    notice_starts_on: date | None
    notice_ends_on: date | None
    elimination_notice_starts_on: date | None
    elimination_notice_ends_on: date | None
    elimination_method: str | None = Field(
        description="On elimination (风险消除): `help` 帮扶消除 or `natural` 自然消除."
    )
    stage_entered_at: datetime
    due_at: datetime | None = Field(
        description="The current stage's deadline, from the policy's days; past it the case is overdue."
    )
    overdue: bool
    escalated_to: str | None
    escalated_level: str | None
    version: int
    created_at: datetime
    allowed_actions: list[str] = []
    timeline: list[CaseEventRead] = []
