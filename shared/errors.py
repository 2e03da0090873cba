"""Typed errors, each rendered by one handler as RFC 9457 ``application/problem+json``."""

from typing import Any

from pydantic import BaseModel, Field

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    field: str = Field(examples=["members.0.id_number"])
    message: str = Field(examples=["check character does not match (expected X)"])


class Problem(BaseModel):
    """An RFC 9457 problem document (sent as ``application/problem+json``), with the extension
    members Povguard sends where they apply."""

    type: str = Field(examples=["https://povguard.example/problems/validation"])
    title: str = Field(examples=["Validation failed"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["members.0.id_number: check character does not match"])
    errors: list[FieldError] | None = Field(
        default=None, description="Validation only: one entry per field that was refused."
    )
    allowed_actions: list[str] | None = Field(
        default=None, description="409 on a case or project action: the actions its stage allows."
    )
    unmet_conditions: list[str] | None = Field(
        default=None, description="409 on a refused elimination: the conditions not yet met."
    )
    current_version: int | None = Field(
        default=None, description="412: the resource's version now; read it again and retry."
    )
    retry_after_s: int | None = Field(
        default=None, description="429 and 503: seconds to wait (also in `Retry-After`)."
    )


class AppError(Exception):
    status: int = 500
    title: str = "Internal error"
    slug: str = "internal"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://povguard.example/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = [e.model_dump() for e in self.errors]
        body.update(self.extra)
        return body


class ValidationFailed(AppError):
    status, title, slug = 422, "Validation failed", "validation"

    @classmethod
    def field(cls, field: str, message: str) -> "ValidationFailed":
        return cls(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


class BadRequest(AppError):
    status, title, slug = 400, "Bad request", "bad-request"


class Unauthorized(AppError):
    status, title, slug = 401, "Not authenticated", "unauthorized"


class Forbidden(AppError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(AppError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(AppError):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(AppError):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class PayloadTooLarge(AppError):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class PreconditionRequired(AppError):
    status, title, slug = 428, "Precondition required", "precondition-required"


class TooManyRequests(AppError):
    status, title, slug = 429, "Too many requests", "rate-limited"


class ServiceUnavailable(AppError):
    status, title, slug = 503, "Service unavailable", "unavailable"


def problem_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the problem shapes a route may answer."""
    return {
        err.status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": err.title}
        for err in errors
    }


def validation_message(err: Any) -> str:
    """A pydantic error's message as a person reads it, without pydantic's
    "Value error, " / "Assertion failed, " prefixes."""
    msg = str(err.get("msg", "invalid"))
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
