from pydantic import BaseModel, Field, field_validator

from shared import idnumber, regions


class DeclarationCreate(BaseModel):
    """防贫申报: what a person sends from the QR-code page, without signing in."""

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
            raise ValueError(str(exc)) from None
        return idnumber.normalize(value)

    @field_validator("village_code")
    @classmethod
    def _village(cls, value: str) -> str:
        if (
            not regions.is_valid_code(value)
            or regions.level_of(value) != regions.RegionLevel.village
        ):
            raise ValueError("must be a 12-digit village code")
        return value


class DeclarationReceipt(BaseModel):
    tracking_code: str


class DeclarationStatus(BaseModel):
    tracking_code: str
    stage: str
