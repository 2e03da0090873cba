from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ImportAccepted(BaseModel):
    import_id: UUID


class ImportRejectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    row_no: int = Field(description="The row's number in the file; the header is row 1.")
    column: str = Field(examples=["证件号码"])
    reason: str = Field(
        examples=["校验码不符（应为 X）"],
        description="Why, in the reader's language (Accept-Language; Chinese by default).",
    )
    code: str | None = Field(
        default=None,
        examples=["id_number.checksum"],
        description="Stable machine code of the reason (`id_number.checksum`, "
        "`id_number.excel_number`, `date.unreadable`...); null for reasons stored by older "
        "versions.",
    )


class ImportSkippedRow(BaseModel):
    row_no: int = Field(description="The row's number in the file.")
    reason: str = Field(examples=["合计行，不是户的数据"])
    code: str | None = Field(
        default=None,
        examples=["import.skipped_total"],
        description="`import.skipped_total` | `import.skipped_footer` | `import.skipped_header` "
        "| `import.skipped_title` | `import.skipped_blank`",
    )


class ImportNotice(BaseModel):
    """Something about the whole file, said once (how to fix a column, ...)."""

    code: str = Field(examples=["import.excel_numbers"])
    message: str


class ImportSummary(BaseModel):
    """An import in a list: its status and progress (its rejected rows are on its own page)."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    kind: str
    filename: str
    file_format: str
    region_code: str
    status: str = Field(description="queued | running | done | failed")
    rows_read: int
    accepted: int = Field(description="Rows whose data was created or changed.")
    rejected: int
    unchanged: int = Field(description="Valid rows equal to what the registry holds.")
    skipped: int = Field(
        default=0,
        description="Rows set aside as not data (合计/小计 rows, 填表人 footers, a header "
        "printed again, blank and title rows); never counted as rejected.",
    )
    notices: list[ImportNotice] = Field(
        default=[],
        description="What to do about the whole file (e.g. `import.excel_numbers`: format "
        "the 证件号码 column as text).",
    )
    chunks_total: int | None = Field(
        description="Chunks (of whole households) the file is loaded in; null until read."
    )
    chunks_done: int = Field(description="Chunks loaded so far.")
    attempts: int = Field(
        description="Times the import was dispatched again after its worker stopped."
    )
    heartbeat_at: datetime = Field(
        description="Last sign of life: a queued or running import with an old one is stuck "
        "and is dispatched again, or failed with the reason, by the worker's sweeper."
    )
    error: str | None = Field(
        description="Why the whole import failed, when it did (in the reader's language)."
    )
    error_code: str | None = Field(
        default=None,
        description="Stable machine code of `error` (`import.missing_headers`, "
        "`import.no_matching_sheet`...).",
    )
    created_by: str
    created_at: datetime
    finished_at: datetime | None

    @field_validator("chunks_done", mode="before")
    @classmethod
    def _count(cls, value: Any) -> int:
        return len(value) if isinstance(value, list | tuple) else int(value or 0)


class ImportDuplicateWarning(BaseModel):
    """A row whose member may already be registered (疑似重复): a warning, the row landed."""

    row: int = Field(description="The sheet's own row number.")
    of_member_id: UUID = Field(description="The member the row created or changed.")
    member_id: UUID = Field(description="The registered member it may be.")
    household_id: UUID
    probability: float


class ImportRead(ImportSummary):
    """An import's status and progress, with its rejected rows."""

    duplicate_warnings: list[ImportDuplicateWarning] = Field(
        default=[],
        description="疑似重复 (the report's warning column): rows whose member may already be "
        "registered in your region, with the member and the probability (the first 1000).",
    )
    rejected_rows: list[ImportRejectionRead] = []
    rejected_rows_truncated: bool = Field(
        default=False,
        description="More rows were rejected than listed here: page through them with "
        "`GET /v1/imports/{id}/rejections`, or download `rejections.xlsx`.",
    )
    skipped_rows: list[ImportSkippedRow] = []


class ImportDryRun(BaseModel):
    """What importing the file would do (`POST /v1/imports?dry_run=true`); nothing is written."""

    dry_run: bool = True
    kind: str = Field(description="households | economics (as sent, or from the headers)")
    rows_read: int
    accepted: int = Field(description="Rows whose data would be created or changed.")
    rejected: int
    unchanged: int = Field(description="Valid rows equal to what the registry holds.")
    skipped: int = 0
    notices: list[ImportNotice] = []
    rejected_rows: list[ImportRejectionRead] = []
    rejected_rows_truncated: bool = False
    skipped_rows: list[ImportSkippedRow] = []
