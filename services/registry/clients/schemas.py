from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.registry.dci import signing as dci_signing
from shared import regions
from shared.auth import Role, Scope
from shared.i18n import t
from shared.request_model import RequestModel


def _region_code(value: str | None) -> str | None:
    if value is not None and not regions.is_valid_code(value):
        raise ValueError(t("must be a 12-digit region code", "region.code_format"))
    return value


class Jwk(BaseModel):
    """An Ed25519 public key as a JWK (RFC 8037). ``kid``, when sent, must be its RFC 7638
    thumbprint (the key id a DCI signature names); absent, it is computed."""

    model_config = ConfigDict(extra="forbid")

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str = Field(min_length=43, max_length=43, description="The public key, base64url.")
    kid: str | None = Field(default=None, max_length=64)
    use: Literal["sig"] = "sig"
    alg: Literal["EdDSA"] = "EdDSA"

    @model_validator(mode="after")
    def _thumbprint(self) -> "Jwk":
        if not dci_signing.x_is_valid(self.x):
            raise ValueError(t("x must be a base64url Ed25519 public key", "jwk.x"))
        kid = dci_signing.thumbprint(self.x)
        if self.kid not in (None, kid):
            raise ValueError(
                t("kid must be the key's RFC 7638 thumbprint ({kid})", "jwk.kid", kid=kid)
            )
        self.kid = kid
        return self


class JwkSet(BaseModel):
    """A client's public signing keys (at most 5: the current one and those being rotated)."""

    model_config = ConfigDict(extra="forbid")

    keys: list[Jwk] = Field(max_length=5)


class ClientCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "黔西南州医保局 signals",
                    "role": "department",
                    "region_code": "522300000000",
                    "scopes": ["signals:write", "changes:read"],
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.department
    region_code: str
    scopes: list[Scope] = Field(default_factory=list, max_length=len(Scope))
    jwks: JwkSet | None = Field(
        default=None, description="Its public keys for DCI request signatures (Ed25519 JWKs)."
    )

    _code = field_validator("region_code")(_region_code)


class ClientUpdate(RequestModel):
    """Only the fields sent change. ``active: false`` revokes the client: its tokens stop
    working within seconds in every service. A change of role, region or scopes also ends its
    tokens (it signs in again and gets the new ones)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    role: Role | None = None
    region_code: str | None = None
    scopes: list[Scope] | None = Field(default=None, max_length=len(Scope))
    active: bool | None = None
    jwks: JwkSet | None = Field(
        default=None, description='Replaces its DCI signing keys (`{"keys": []}`: none).'
    )

    _code = field_validator("region_code")(_region_code)


class SecretRotation(RequestModel):
    model_config = ConfigDict(extra="forbid")

    previous_secret_valid_until: datetime | None = Field(
        default=None,
        description="Until when the current secret keeps working beside the new one (at most "
        "30 days ahead; absent: it stops now). Time-zone aware.",
    )

    @field_validator("previous_secret_valid_until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(
                t("must carry a time zone (e.g. 2026-12-01T00:00:00+08:00)", "datetime.naive")
            )
        return value


class ClientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    client_id: str = Field(description="What the client signs in with (its `id`).")
    name: str
    role: Role
    region_code: str
    scopes: list[Scope]
    active: bool
    previous_secret_expires_at: datetime | None
    secret_rotated_at: datetime | None
    created_by: str
    created_at: datetime
    version: int
    jwks: dict[str, Any] | None = None

    @classmethod
    def of(cls, client: object) -> "ClientRead":
        return cls.model_validate(
            {
                **{k: getattr(client, k) for k in cls.model_fields if hasattr(client, k)},
                "client_id": str(client.id),  # type: ignore[attr-defined]
                "active": client.is_active,  # type: ignore[attr-defined]
            }
        )


class ClientWithSecret(ClientRead):
    client_secret: str = Field(description="Shown this once; Povguard keeps only its hash.")
