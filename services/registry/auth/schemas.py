from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared import regions
from shared.auth import Role


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class Me(BaseModel):
    username: str
    role: Role
    region_code: str
    sees_full_id_numbers: bool


class UserCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "xingyi-officer",
                    "password": "a long passphrase",
                    "role": "county_officer",
                    "region_code": "522301000000",
                }
            ]
        }
    )

    username: str = Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=10, max_length=200)
    role: Role
    region_code: str

    @field_validator("region_code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not regions.is_valid_code(value):
            raise ValueError("must be a 12-digit region code")
        return value


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    username: str
    role: Role
    region_code: str
