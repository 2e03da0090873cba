from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class ImportAccepted(BaseModel):
    import_id: UUID


class ImportRejectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    row_no: int = Field(description="The row's number in the file; the header is row 1.")
    column: str = Field(examples=["证件号码"])
    reason: str = Field(examples=["check character does not match (expected X)"])


class ImportRead(BaseModel):
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
    error: str | None = Field(description="Why the whole import failed, when it did.")
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    rejected_rows: list[ImportRejectionRead] = []
    rejected_rows_truncated: bool = False
