"""Typed errors, each rendered by one handler as RFC 9457 ``application/problem+json``, in
the reader's language (``shared.i18n``) and with a stable machine ``code``."""

from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from shared.i18n import EN, Message, render

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    """One refused field. ``field`` is the name as the client sent it (``members.0.id_number``),
    so a form can place the message; ``message`` is in the reader's language."""

    field: str = Field(examples=["members.0.id_number"])
    message: str = Field(examples=["校验码不符（应为 X）"])
    code: str = Field(default="validation", examples=["id_number.checksum"])
    _message: str = PrivateAttr(default="")

    def __init__(self, **data: Any) -> None:
        message = data.get("message", "")
        if data.get("code") is None:
            data["code"] = (message.code if isinstance(message, Message) else None) or "validation"
        super().__init__(**data)
        self._message = message  # keeps a Message's template for rendering

    def rendered(self, locale: str) -> dict[str, Any]:
        return {"field": self.field, "message": render(self._message, locale), "code": self.code}


class Problem(BaseModel):
    """An RFC 9457 problem document (sent as ``application/problem+json``), with the extension
    members Povguard sends where they apply."""

    type: str = Field(examples=["https://povguard.example/problems/validation"])
    title: str = Field(examples=["校验失败"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["members.0.id_number：校验码不符（应为 X）"])
    code: str = Field(
        examples=["validation"],
        description="Stable machine code (`household.not_found`, `case.wrong_stage`...): "
        "branch on it, or translate it in the client; title and detail follow Accept-Language.",
    )
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

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: list[FieldError] | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.detail = detail
        message_code = detail.code if isinstance(detail, Message) else None
        self.code = code or message_code or self.slug.replace("-", "_")
        self.errors = errors
        self.extra = extra

    def problem(self, locale: str = EN) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://povguard.example/problems/{self.slug}",
            "title": render(self.title, locale),
            "status": self.status,
            "detail": render(self.detail, locale),
            "code": self.code,
        }
        if self.errors is not None:
            body["errors"] = [e.rendered(locale) for e in self.errors]
        body.update(self.extra)
        return body


class ValidationFailed(AppError):
    status, title, slug = 422, "Validation failed", "validation"

    @classmethod
    def field(cls, field: str, message: str, code: str | None = None) -> "ValidationFailed":
        error = FieldError(field=field, message=message, code=code)
        detail = Message("{field}: {message}", error.code, field=field, message=message)
        return cls(detail, code=error.code or cls.slug, errors=[error])


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


# Pydantic's error types as a person reads them, with the figures from the error's context.
_PYDANTIC_MESSAGES = {
    "missing": "field required",
    "string_too_short": "must have at least {min_length} characters",
    "string_too_long": "must have at most {max_length} characters",
    "string_pattern_mismatch": "does not have the expected format",
    "string_type": "must be text",
    "too_short": "must have at least {min_length} items",
    "too_long": "must have at most {max_length} items",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "decimal_parsing": "must be a decimal number",
    "decimal_max_places": "must have at most {decimal_places} decimal places",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "date_type": "must be a date (YYYY-MM-DD)",
    "datetime_parsing": "must be a date and time (ISO 8601)",
    "uuid_parsing": "must be a UUID",
    "uuid_type": "must be a UUID",
    "enum": "must be one of {expected}",
    "literal_error": "must be one of {expected}",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "extra_forbidden": "is not a field of this request; remove it or check its spelling",
    "json_invalid": "is not valid JSON",
}


# Error types whose code says more than ``validation.<type>``: a client's form or generator
# branches on these.
_PYDANTIC_CODES = {"extra_forbidden": "field.unknown"}


def validation_message(err: Any) -> str:
    """A pydantic error's message as a person reads it, in any language: a known error type
    from the table above, or the validator's own message (a ``Message`` or a fixed English
    text the catalogue translates), without pydantic's "Value error, " prefixes."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    template = _PYDANTIC_MESSAGES.get(kind)
    if template is not None:
        code = _PYDANTIC_CODES.get(kind, f"validation.{kind}")
        return Message(template, code, **{k: str(v) for k, v in ctx.items()})
    cause = ctx.get("error")
    if isinstance(cause, Exception) and cause.args and isinstance(cause.args[0], Message):
        return cause.args[0]
    msg = str(err.get("msg", "invalid"))
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
