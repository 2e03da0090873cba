"""The duplicate review's requests and answers (查重)."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field

from services.registry.households.schemas import HouseholdRead, MemberRead
from shared.request_model import RequestModel


class ScanStatus(StrEnum):
    """`queued` 排队中, `running` 进行中, `done` 已完成, `failed` 失败 (see `error`)."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class PairStatus(StrEnum):
    """`open` 待核实, `confirmed` 确认重复 (one record departed), `dismissed` 非重复 (never
    proposed again)."""

    open = "open"
    confirmed = "confirmed"
    dismissed = "dismissed"


class PairAction(StrEnum):
    """`confirm` 确认重复 (with `keep_member_id`), `dismiss` 排除 (not one person)."""

    confirm = "confirm"
    dismiss = "dismiss"


class DuplicateScanCreate(RequestModel):
    region_code: str = Field(
        pattern=r"^[0-9]{12}$",
        description="查重范围：县或省的 12 位区划代码 (a county or the province, inside yours).",
    )


class DuplicateScanRead(BaseModel):
    id: UUID
    region_code: str
    status: ScanStatus
    progress: int = Field(description="0-100")
    members: int = Field(description="Resident members compared.")
    pairs: int = Field(description="Pairs proposed (new or still open).")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class DuplicateField(BaseModel):
    """One field's share of a pair's score: its Fellegi-Sunter weight (log2 of its Bayes
    factor; positive speaks for one person) and the level it agreed at."""

    name: str = Field(
        description="name | id_number | birth_date | sex | village | household | phone | relation"
    )
    agrees: bool
    weight: float
    level: str = Field(
        default="", description="e.g. exact, pinyin, prefix, one_digit, adjacent_swap, else"
    )


class DuplicatePairRead(BaseModel):
    id: UUID
    probability: float = Field(description="重复的概率 (0-1).")
    weight: float = Field(description="The match weight: the fields' weights and the prior.")
    status: PairStatus
    member_ids: list[UUID] = Field(description="The two members.")
    household_ids: list[UUID]
    fields: list[DuplicateField]
    members: list[MemberRead] = Field(
        description="两条记录并排 (both records side by side, masked as every read)."
    )
    kept_member_id: UUID | None
    decided_by: str | None
    decided_at: datetime | None
    version: int


class DuplicateActionCreate(RequestModel):
    action: PairAction
    keep_member_id: UUID | None = Field(
        default=None, description="`confirm`: the member kept; the other departs (`duplicate`)."
    )
    new_head_id: UUID | None = Field(
        default=None,
        description="`confirm`, when the departing member is head of others: the new head.",
    )


class PossibleDuplicate(BaseModel):
    """A registered member the new one may be (疑似重复), answered at entry; nothing blocked."""

    of_member_id: UUID = Field(description="The new member this concerns.")
    member_id: UUID = Field(description="The registered member it may be.")
    household_id: UUID
    probability: float
    fields: list[DuplicateField]


class MemberCreated(MemberRead):
    possible_duplicates: list[PossibleDuplicate] = Field(
        default_factory=list,
        description="疑似重复：已在册、可能是同一人的成员 (registered members this one may be; "
        "a warning, nothing was blocked).",
    )


class HouseholdCreated(HouseholdRead):
    possible_duplicates: list[PossibleDuplicate] = Field(
        default_factory=list,
        description="疑似重复：新成员可能已在册 (registered members the new ones may be; a "
        "warning, nothing was blocked).",
    )
