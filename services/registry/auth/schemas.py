from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared import regions
from shared.auth import Role
from shared.i18n import t
from shared.request_model import RequestModel

# Every password a person chooses: long rather than complex (a passphrase), here and in the CLI.
MIN_PASSWORD_LENGTH = 10
Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=200)]


class Token(BaseModel):
    """RFC 6749 section 5.1."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = Field(
        default=None,
        description="Password and refresh grants only: exchange it at `POST /v1/auth/token` "
        "(`grant_type=refresh_token`) for a new pair; each is good for one use.",
    )
    scope: str | None = Field(
        default=None, description="Client credentials only: the scopes the token carries."
    )


class TokenRequest(BaseModel):
    """The token endpoint's form (RFC 6749): ``password`` (the default), ``refresh_token``
    or ``client_credentials`` (client id and secret here or in HTTP Basic)."""

    grant_type: Literal["password", "refresh_token", "client_credentials"] = Field(
        default="password",
        description="`password` (sign in with `username` and `password`), `refresh_token` (a new pair "
        "for `refresh_token`), `client_credentials` (a registered client's `client_id` and `client_secret`).",
    )
    username: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=200)
    refresh_token: str | None = Field(default=None, max_length=200)
    client_id: str | None = Field(default=None, max_length=200)
    client_secret: str | None = Field(default=None, max_length=200)
    scope: str | None = Field(default=None, max_length=500)


class Me(BaseModel):
    username: str
    role: Role
    region_code: str
    sees_full_id_numbers: bool
    # Registered clients only (absent for people).
    client_id: str | None = None
    scopes: list[str] | None = None


def _region_code(value: str) -> str:
    if not regions.is_valid_code(value):
        raise ValueError(t("must be a 12-digit region code", "region.code_format"))
    return value


class UserCreate(RequestModel):
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
    password: Password
    role: Role
    region_code: str

    _code = field_validator("region_code")(_region_code)


class UserUpdate(RequestModel):
    """Only the fields sent change. A new ``password`` (a reset) or any change of ``active``,
    ``role`` or ``region_code`` ends the account's sign-ins: its tokens stop working within
    seconds in every service and its refresh tokens are revoked."""

    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    role: Role | None = None
    region_code: str | None = None
    password: Password | None = None

    @field_validator("region_code")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return None if value is None else _region_code(value)


class PasswordChange(RequestModel):
    current_password: str = Field(max_length=200)
    new_password: Password


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: UUID
    username: str
    role: Role
    region_code: str
    active: bool = Field(validation_alias="is_active")
    pending_approval: bool = Field(
        default=False,
        description="A province admin created through the API: inactive until another "
        "province admin approves it (`POST /v1/users/{id}/approve`).",
    )
    version: int
    created_at: datetime
