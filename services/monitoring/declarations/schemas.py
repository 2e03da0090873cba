from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared import idnumber, regions
from shared.i18n import t
from shared.request_model import RequestModel


class DeclarationCreate(RequestModel):
    """防贫申报: what a person sends from the QR-code page, without signing in."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "王小明",
                    "id_number": "522301198005170010",
                    "phone": "13800001234",
                    "village_code": "522301100001",
                    "reason": "illness",
                    "description": "妻子住院, 自付医疗费约3万元",
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=50)
    id_number: str
    phone: str = Field(pattern=r"^1[0-9]{10}$", examples=["13800001234"])
    village_code: str = Field(examples=["522301100001"])
    reason: str = Field(
        min_length=1,
        max_length=40,
        examples=["illness", "disaster", "accident", "schooling", "income_drop", "other"],
    )
    description: str = Field(default="", max_length=2000)

    @field_validator("id_number")
    @classmethod
    def _id(cls, value: str) -> str:
        try:
            idnumber.parse(value)
        except idnumber.InvalidIdNumber as exc:
            raise ValueError(*exc.args) from None
        return idnumber.normalize(value)

    @field_validator("village_code")
    @classmethod
    def _village(cls, value: str) -> str:
        if (
            not regions.is_valid_code(value)
            or regions.level_of(value) != regions.RegionLevel.village
        ):
            raise ValueError(t("must be a 12-digit village code", "village_code.invalid"))
        return value


class DeclarationReceipt(BaseModel):
    tracking_code: str = Field(
        description="Unguessable (80 random bits): the declarant's only key to its progress"
    )


class DeclarationStage(StrEnum):
    """The declaration's own progress: never the stage of a case or anything of a household.

    `received` 已受理, `under_review` 核实中, `accepted` 已纳入, `not_accepted` 未纳入."""

    received = "received"
    under_review = "under_review"
    accepted = "accepted"
    not_accepted = "not_accepted"


class DeclarationStatus(BaseModel):
    tracking_code: str
    stage: DeclarationStage


class DeclarationAction(StrEnum):
    """What an official does with a self-declaration (防贫申报): `review` (take it up), `accept`
    (into a case: the household's open one or a new one), `dismiss` (not accepted, the reason
    in `note`)."""

    review = "review"  # an official takes it up
    accept = "accept"  # into a case (the household's open one, or a new one)
    dismiss = "dismiss"  # not accepted, with the reason in ``note``


class DeclarationActionRequest(RequestModel):
    action: DeclarationAction
    note: str = Field(default="", max_length=2000)
    household_id: UUID | None = Field(
        default=None,
        description="accept: the household in your region the declarant belongs to, when the "
        "ID number does not find it (default: the household the projection finds for it)",
    )


class DeclarationRead(BaseModel):
    """A declaration as officials review it. The ID number is masked for roles below the
    county; ``household_id`` is the household in your region the ID number matches, if any."""

    id: UUID
    region_code: str = Field(description="The village declared, as typed (not yet checked)")
    name: str | None
    id_number: str
    phone: str
    reason: str
    description: str
    status: DeclarationStage
    household_id: UUID | None
    case_id: UUID | None
    created_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str
    version: int = Field(
        description="1 received, one more per review step; its feed events carry it."
    )
