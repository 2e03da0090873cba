"""The change feed speaks the shared contract (``shared.contracts.registry``); partner sync
has its own batch shapes."""

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from services.registry.duplicates.schemas import PossibleDuplicate
from services.registry.households.schemas import RegionCode
from shared.contracts.registry import (
    ChangeEventRead,
    ChangePage,
    FeedPosition,
    HouseholdCategory,
    MemberFields,
    Relation,
    SchoolingStage,
    Sex,
)
from shared.errors import FieldError, validation_message
from shared.request_model import RequestModel

__all__ = ["ChangeEventRead", "ChangePage", "FeedPosition"]


class SyncMember(MemberFields, RequestModel):
    """A member as the partner system holds it: the household API's member fields. An ID
    number that fails its check, a sex or birth date that disagrees with it, or a schooling
    stage that disagrees with ``in_school`` rejects the item (not the whole batch). A stage
    sent without ``in_school`` says it, as a ledger's 在校生状况 does."""

    @model_validator(mode="before")
    @classmethod
    def _in_school_from_stage(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("schooling_stage") and "in_school" not in data:
            return {**data, "in_school": data["schooling_stage"] != SchoolingStage.dropout.value}
        return data

    name: str = Field(min_length=1, max_length=50)
    id_number: str = Field(min_length=1, max_length=18, examples=["52230119800501001X"])
    relation: Relation
    sex: Sex | None = Field(
        default=None, description="Defaults to what the ID number says; must agree with it."
    )
    birth_date: date | None = Field(
        default=None, description="Defaults to what the ID number says; must agree with it."
    )


class SyncHousehold(RequestModel):
    external_id: str = Field(
        min_length=1, max_length=100, description="The household's id in the partner system."
    )
    household_no: str | None = Field(
        default=None,
        max_length=40,
        description="Our household number; for a household new to us it defaults to "
        "`{system}:{external_id}`. Ignored once the external id is known.",
    )
    region_code: RegionCode = Field(
        description="The household's village (12 digits), in your region."
    )
    address: str = Field(default="", max_length=300)
    category: HouseholdCategory
    poverty_causes: list[str] = Field(default=[], max_length=20)
    relocated: bool = False
    phone: str | None = Field(default=None, max_length=20)
    members: list[SyncMember] = Field(min_length=1, max_length=50)


class UnreadableItem(BaseModel):
    """An item that does not fit ``SyncHousehold`` (a missing field, an unknown relation,
    a region code that is not 12 digits...): answered ``rejected`` with its field errors,
    while the rest of the batch lands."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    external_id: str | None
    errors: list[FieldError]


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "item"


def _item_or_unreadable(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Validate one item on its own, so one bad item rejects that item, not the batch."""
    try:
        return SyncHousehold.model_validate(value)
    except ValidationError as exc:
        external_id = value.get("external_id") if isinstance(value, dict) else None
        return UnreadableItem(
            external_id=external_id if isinstance(external_id, str) else None,
            errors=[
                FieldError(field=_location(e["loc"]), message=validation_message(e))
                for e in exc.errors()
            ],
        )


# The docs show the household shape; an item that does not fit it becomes an UnreadableItem.
SyncItem = Annotated[
    SyncHousehold | SkipJsonSchema[UnreadableItem], WrapValidator(_item_or_unreadable)
]


class SyncBatch(RequestModel):
    """``POST /v1/sync/households``: up to 1000 households keyed by ONE partner system's ids."""

    system: str = Field(
        min_length=1, max_length=50, pattern=r"^[a-z0-9_.-]+$", examples=["civil_affairs"]
    )
    items: list[SyncItem] = Field(min_length=1, max_length=1000)
    absent_members: Literal["keep", "depart"] = Field(
        default="keep",
        description="What a household item does to the household's resident members it does "
        "not list: `keep` (the default: they stay resident, untouched) or `depart` (each is "
        "marked departed today with reason `moved`, 迁出, one `depart` change each, as "
        "`DELETE /v1/members/{id}` would). The head is always listed (an item whose registry "
        "head is missing is rejected), so `depart` never leaves a household without one.",
    )


class ItemError(BaseModel):
    """One refused field of one item, as in a problem's `errors`."""

    field: str = Field(examples=["members[0].id_number"])
    code: str = Field(examples=["id_number.checksum"])
    message: str = Field(examples=["校验码不符（应为 X）"])


class SyncItemResult(BaseModel):
    index: int = Field(description="The item's position in the batch, from 0.")
    external_id: str | None = Field(description="As sent; null when the item had none readable.")
    household_id: UUID | None = None
    status: Literal["created", "updated", "unchanged", "rejected"] = Field(
        description="`created` (a new household), `updated` (changed), `unchanged` (same as stored), "
        "`rejected` (refused: see `code` and `errors`)."
    )
    code: str | None = Field(
        default=None,
        description="A rejected item's stable code (its first error's), e.g. "
        "`id_number.checksum`, `sync.external_id_repeated`, `region.outside_scope`.",
    )
    errors: list[ItemError] = Field(
        default=[],
        description="A rejected item's refused fields, named inside the item "
        "(`members[1].id_number`), each with `code` and `message` (Chinese by default).",
    )
    reason: str | None = Field(
        default=None, description="The errors as one text (`field: message; ...`), as before."
    )
    departed_members: int = Field(
        default=0, description="Members marked departed by `absent_members: depart`."
    )
    possible_duplicates: list[PossibleDuplicate] = Field(
        default=[],
        description="疑似重复：本条目的成员可能已在册 (registered members this item's members may "
        "be, with the probability; a warning, the item landed).",
    )


class SyncResult(BaseModel):
    system: str
    created: int
    updated: int
    unchanged: int
    rejected: int
    items: list[SyncItemResult]
