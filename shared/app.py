"""``create_service_app``: what every Povguard service has in common: error handling as
RFC 9457 problem+json, a body-size limit, health probes, and the lifespan that owns the
engine, the queue and the shared HTTP client."""

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

import asyncpg
import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import http, jobs, observability, openapi
from shared.db import (
    connection_lost,
    create_engine,
    create_read_session_maker,
    create_session_maker,
    error_without_values,
    sqlstate_of,
)
from shared.errors import (
    PROBLEM_JSON,
    AppError,
    BadRequest,
    Conflict,
    FieldError,
    PayloadTooLarge,
    PreconditionFailed,
    Problem,
    ServiceUnavailable,
    ValidationFailed,
    validation_message,
)
from shared.i18n import Message as Text
from shared.i18n import negotiate, t
from shared.repository import ping
from shared.settings import Settings, get_settings

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
        headers["WWW-Authenticate"] = "Bearer"
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


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
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


class BodySizeLimit:
    """Refuse bodies over the limit before reading them all (413 problem+json)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_paths: Sequence[str] = (),
        max_upload_bytes: int = 0,
    ) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.upload_paths, self.max_upload_bytes = tuple(upload_paths), max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = (
            self.max_upload_bytes
            if path.startswith(self.upload_paths) and self.upload_paths
            else self.max_bytes
        )
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0
        # A body sent without Content-Length (chunked) is counted as it arrives. The error
        # raised on crossing the limit reaches whatever reads the body, and a framework may
        # turn it into its own answer (FastAPI: 400 "error parsing the body"); once the limit
        # is crossed, the answer is 413 whatever the application makes of it.
        exceeded = False
        started = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise PayloadTooLarge(t("the request body exceeds {limit} bytes", limit=limit))
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if message["type"] == "http.response.start":
                started = True
                if exceeded:
                    replaced = True
                    await self._refuse(scope, receive, send, limit)
                    return
            if replaced:
                return  # the application's own answer, already replaced by the 413
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except PayloadTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        error = PayloadTooLarge(t("the request body exceeds {limit} bytes", limit=limit))
        await render_problem(Request(scope), error)(scope, receive, send)


def add_http_conventions(app: FastAPI, settings: Settings) -> None:
    """What clients expect of HTTP: gzip for answers over 1 KB (cadres are on rural mobile
    networks), CORS for the web apps' origins (none unless configured), and a weak ETag from
    the version of every single resource answered, with 304 on ``If-None-Match``."""
    # Inside gzip: it reads the resource's JSON before compression.
    app.add_middleware(http.ETagMiddleware)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["ETag", "Location", "Retry-After", "X-Request-ID"],
            max_age=600,
        )


class Readiness(BaseModel):
    """What ``/readyz`` answers, ready (200) or not (503)."""

    status: Literal["ready", "not ready"] = Field(
        description="`ready` (200): database and Redis answer; `not ready` (503): one does not."
    )
    database: str = Field(description='"ok" or "unreachable: <error class>"')
    redis: str = Field(description='"ok" or "unreachable: <error class>"')


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="The database and Redis are reachable",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready: a dependency is down"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            async with request.app.state.engine.connect() as conn:
                await ping(conn)
            checks["database"] = "ok"
        except Exception as exc:  # readiness reports, it does not raise
            checks["database"] = f"unreachable: {type(exc).__name__}"
        try:
            queue = request.app.state.arq
            if queue is None:
                raise RuntimeError("no queue")
            await queue.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unreachable: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        body = Readiness(status="ready" if ready else "not ready", **checks)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    return router


Hook = Callable[[FastAPI], Awaitable[None]]


def freeze_startup_objects() -> None:
    """Move what import and startup made (modules, routes, schemas, the engine: objects that
    live as long as the process) out of the garbage collector's sight. Its full passes, which
    concurrent requests trigger every second or so, then scan only recent objects: ~8 ms
    instead of ~80 ms, a stall every request in flight waited through (the p99)."""
    gc.collect()
    gc.freeze()


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    tags: list[dict[str, str]],
    settings: Settings | None = None,
    upload_paths: Sequence[str] = (),
    on_startup: Sequence[Hook] = (),
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = create_engine(settings, f"povguard-{name}", pre_ping=False)
        app.state.session_maker = create_session_maker(app.state.engine)
        app.state.read_session_maker = create_read_session_maker(app.state.engine)
        # Connects on first use and reconnects after an outage: a service started while
        # Redis is down serves once it is up (jobs wait in the outbox meanwhile).
        app.state.arq = jobs.connect_queue(settings)
        app.state.http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        observability.on_startup(app, name)
        for hook in on_startup:
            await hook(app)
        freeze_startup_objects()
        try:
            yield
        finally:
            await app.state.http.aclose()
            if app.state.arq is not None:
                await app.state.arq.aclose()
            await app.state.engine.dispose()

    # Swagger UI and ReDoc from the package's own copies: on a government intranet (政务外网)
    # a CDN is out of reach and the docs page would be blank. No validator badge either.
    app = FastAPIOffline(
        swagger_ui_parameters={"validatorUrl": None},
        # operationIds are the route functions' names (``list_households``): what a generated
        # client calls its methods. A test keeps them unique and short.
        generate_unique_id_function=lambda route: route.name,
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        openapi_tags=[*tags, {"name": "health", "description": "Liveness and readiness probes."}],
        responses={
            # A body that is not the JSON (or form) it claims to be: FastAPI refuses it before
            # validation. Schemathesis found it undocumented.
            400: {
                "model": Problem,
                "content": {PROBLEM_JSON: {}},
                "description": "Malformed request body",
            },
            401: {
                "model": Problem,
                "content": {PROBLEM_JSON: {}},
                "description": "Missing or invalid token",
            },
            422: {
                "model": Problem,
                "content": {PROBLEM_JSON: {}},
                "description": "Validation failed",
            },
            # Any route, when the database or Redis is briefly away (with Retry-After).
            503: {
                "model": Problem,
                "content": {PROBLEM_JSON: {}},
                "description": "Service unavailable; retry after Retry-After seconds",
            },
        },
    )
    app.state.settings = settings
    app.state.service_name = name
    observability.install(app, name)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(ConnectionError, _connection_error)
    app.add_exception_handler(RedisError, _queue_unavailable)
    app.add_exception_handler(StaleDataError, _stale)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        upload_paths=[f"/v1{p}" for p in upload_paths],
        max_upload_bytes=settings.max_upload_bytes,
    )
    add_http_conventions(app, settings)
    openapi.install(app, settings, name)
    app.include_router(health_router())
    for router in routers:
        app.include_router(router, prefix="/v1")
    return app
