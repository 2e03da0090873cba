from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.i18n import t
from shared.request_model import RequestModel


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


class NoticeCreate(RequestModel):
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
