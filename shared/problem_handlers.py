"""How every error becomes an answer: RFC 9457 problem+json in the reader's language, with a
machine-readable ``code``, for the application's own errors, the framework's (validation, no
route, wrong method), the database's and Redis's. Never a 500 for what a client can fix."""

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import methods
from shared.db import connection_lost, error_without_values, sqlstate_of
from shared.errors import (
    PROBLEM_JSON,
    AppError,
    BadRequest,
    Conflict,
    FieldError,
    PreconditionFailed,
    ServiceUnavailable,
    ValidationFailed,
    validation_message,
)
from shared.i18n import Message as Text
from shared.i18n import negotiate, t

log = logging.getLogger("povguard")


def locale_of(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


def problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def render_problem(request: Request, exc: AppError) -> JSONResponse:
    """The one way an error becomes an answer: problem+json in the reader's language."""
    locale = locale_of(request)
    headers = {"Content-Language": "en" if locale == "en" else "zh-CN", "Vary": "Accept-Language"}
    if exc.status == 401:
        # RFC 6749 5.2: a client that authenticated with HTTP Basic is challenged with the
        # scheme it used; everyone else is asked for a bearer token.
        basic = request.headers.get("authorization", "")[:6].lower() == "basic "
        headers["WWW-Authenticate"] = 'Basic realm="povguard"' if basic else "Bearer"
    retry_after = exc.extra.get("retry_after_s")
    if retry_after is not None or exc.status in (429, 503):
        # Clients (and the apps' retry logic) wait this long; the body says the same.
        headers["Retry-After"] = str(max(int(retry_after or 5), 1))
    return problem_response(exc.status, exc.problem(locale), headers)


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return render_problem(request, exc)


class MalformedJson(BadRequest):
    slug = "malformed-json"
    title = "Malformed JSON"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(tuple(e.get("loc", ()))[:1] == ("path",) for e in errors):
        shadowed = _shadowed_literal(request)
        if shadowed is not None:
            return shadowed
    if any(e.get("type") == "json_invalid" for e in errors):
        where = ", ".join(str(e.get("ctx", {}).get("error", "")) for e in errors)
        detail = t("the request body is not valid JSON ({where})", "malformed_json", where=where)
        return render_problem(request, MalformedJson(detail))
    fields = [
        FieldError(field=_field_name(e.get("loc", ())), message=validation_message(e))
        for e in errors
    ]
    detail = Text(
        "; ".join(f"{{f{i}}}: {{m{i}}}" for i in range(len(fields[:5]))),
        **{f"f{i}": f.field for i, f in enumerate(fields[:5])},
        **{f"m{i}": validation_message(e) for i, e in enumerate(errors[:5])},
    )
    return render_problem(request, ValidationFailed(detail, errors=fields))


class _HttpError(AppError):
    """Errors Starlette raises itself (no such route, method not allowed)."""


_HTTP_PROBLEMS: dict[int, tuple[str, str, str]] = {
    404: ("Not found", "not_found", "there is nothing at this address"),
    405: ("Method not allowed", "method_not_allowed", "this address does not take that method"),
    401: ("Not authenticated", "unauthorized", "a bearer token is required"),
    403: ("Forbidden", "forbidden", "you may not do this"),
}


def _method_not_allowed(request: Request, allow: str) -> JSONResponse:
    title, code, detail = _HTTP_PROBLEMS[405]
    error = _HttpError(detail, code=code)
    error.status, error.title, error.slug = 405, title, "http-405"
    response = render_problem(request, error)
    response.headers["Allow"] = allow
    return response


def _shadowed_literal(request: Request) -> JSONResponse | None:
    """``PATCH /v1/households/search`` reached ``PATCH /v1/households/{household_id}`` and
    failed on the id; the address is the search's, which takes only POST: a 405."""
    route = request.scope.get("route")
    parameters = len(getattr(route, "param_convertors", {}) or {})
    allow = methods.literal_allowed(request.app, request.scope["path"], parameters)
    return None if allow is None else _method_not_allowed(request, allow)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        # Every method served at the address, not only the first matching route's.
        return _method_not_allowed(request, methods.allowed(request.app, request.scope["path"]))
    title, code, detail = _HTTP_PROBLEMS.get(
        exc.status_code, ("HTTP error", f"http_{exc.status_code}", str(exc.detail))
    )
    error = _HttpError(detail, code=code)
    error.status, error.title, error.slug = exc.status_code, title, f"http-{exc.status_code}"
    response = render_problem(request, error)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


_SQLSTATE_PROBLEMS: dict[str, tuple[type[AppError], str, str]] = {
    "23505": (Conflict, "conflict.duplicate", "it conflicts with an existing record"),
    "23503": (
        ValidationFailed,
        "validation.reference",
        "it refers to a record that does not exist",
    ),
    "23514": (ValidationFailed, "validation.rule", "it breaks a rule of the data"),
    # A NUL character (text cannot hold it) or a string the database cannot encode.
    "22021": (ValidationFailed, "validation.character", "it contains a character text cannot hold"),
    "22P05": (ValidationFailed, "validation.character", "it contains a character text cannot hold"),
    "40001": (Conflict, "conflict.concurrent", "a concurrent change got there first; retry"),
    "40P01": (Conflict, "conflict.concurrent", "a concurrent change got there first; retry"),
}


def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database went away (restart, failover, a dropped connection): nothing was
    committed, the pool replaces its connections, and the client may retry."""
    log.warning("database unavailable: %s", error_without_values(exc))
    error = ServiceUnavailable(
        "the database is unavailable; retry shortly", code="database.unavailable", retry_after_s=1
    )
    return render_problem(request, error)


async def _connection_error(request: Request, exc: Exception) -> JSONResponse:
    """A refused or reset connection to the database (raised by the driver, unwrapped)."""
    return _database_unavailable(request, exc)


# A value the database (or its driver) cannot take, refused before it reached a table: an
# integer beyond int32 or bigint, a malformed date. asyncpg raises some of these itself, with
# no SQLSTATE, when it encodes the parameters.
_BAD_VALUE: tuple[type[AppError], str, str] = (
    ValidationFailed,
    "validation.value",
    "a value is out of range or malformed",
)


def _bad_value(exc: Exception) -> bool:
    cause = getattr(getattr(exc, "orig", None), "__cause__", None)
    return (
        isinstance(exc, DataError)
        or isinstance(cause, asyncpg.exceptions.DataError)
        or sqlstate_of(exc).startswith("22")
    )


async def _queue_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Redis (the job queue, shared rate limits) went away under a request: a 503 to retry,
    never a 500. The client reconnects by itself once Redis is back."""
    log.warning("redis unavailable: %s", exc)
    error = ServiceUnavailable(
        "the job queue is unavailable; retry shortly", code="queue.unavailable", retry_after_s=5
    )
    return render_problem(request, error)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A constraint the database enforced (a race past the service's own checks) is the
    client's conflict, not a server error; a lost connection is a 503 to retry. The pool
    does not ping connections before use, so a connection that died while idle shows here."""
    if connection_lost(exc):
        return _database_unavailable(request, exc)
    known = _SQLSTATE_PROBLEMS.get(sqlstate_of(exc))
    if known is None and _bad_value(exc):
        known = _BAD_VALUE
    if known is None:
        return await _unexpected(request, exc)
    error_class, code, reason = known
    constraint = getattr(
        getattr(getattr(exc, "orig", None), "__cause__", None), "constraint_name", None
    )
    detail = t("the request was refused: {reason}", code, reason=t(reason))
    if constraint:
        detail = t("{detail} ({constraint})", code, detail=detail, constraint=constraint)
    return render_problem(request, error_class(detail, code=code))


async def _stale(request: Request, exc: Exception) -> JSONResponse:
    detail = "the resource was changed by someone else meanwhile; read it again and retry"
    return render_problem(request, PreconditionFailed(detail, code="version.stale"))


class _Unexpected(Exception):
    """What the log shows of an unexpected error: its kind and message with the values cut."""


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The frames, and the error without the values it quotes (a database error quotes the
    # input it choked on: a name, an ID number); never the request or its body.
    shown = _Unexpected(error_without_values(exc))
    log.error("unhandled error", exc_info=(_Unexpected, shown, exc.__traceback__))
    error = AppError("an unexpected error occurred; it has been logged", code="internal")
    return render_problem(request, error)


def install(app: FastAPI) -> None:
    """Register every handler above on the app."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(ConnectionError, _connection_error)
    app.add_exception_handler(RedisError, _queue_unavailable)
    app.add_exception_handler(StaleDataError, _stale)
    app.add_exception_handler(Exception, _unexpected)
