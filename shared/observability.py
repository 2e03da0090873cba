"""What lets an operator watch a Povguard process: request ids, access log lines, Prometheus
metrics and OpenTelemetry traces, wired into a service by ``install`` (at app creation) and
``on_startup`` (once the lifespan made the engine and the HTTP client), and into jobs by
``observed_job``. Kept out of ``shared/app.py`` so error handling and limits stay apart.

The per-request cost is a few microseconds: one pure-ASGI wrapper (no BaseHTTPMiddleware and
its extra task), a counter, a histogram and one log line built from the route template."""

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from arq import Retry
from fastapi import APIRouter, FastAPI, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import metrics, request_context, tracing
from shared.logging import FIELDS, SAFE

access_log = logging.getLogger("povguard.access")
job_log = logging.getLogger("povguard.jobs")
log = logging.getLogger("povguard")

_REQUEST_ID = request_context.REQUEST_ID_HEADER.lower().encode()
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and scrapes: counted, but their access lines only at debug level.
_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})
UNMATCHED = "unmatched"  # no route: the raw path (which may carry anything) is never a label


class RequestObserver:
    """Pure ASGI, outermost: gives every request an id (the client's ``X-Request-ID`` when
    acceptable), returns it on every answer (500s and router 404s included), and records the
    access line and metrics by route template once the answer is sent."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service
        self.in_progress = metrics.HTTP_IN_PROGRESS.labels(service)
        # (method, route, status) -> the counter and histogram children: ``labels()`` takes
        # a lock and builds a key each call; routes and statuses are few, so keep them.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent_id = None
        for name, value in scope["headers"]:
            if name == _REQUEST_ID:
                sent_id = value.decode("latin-1")
                break
        request_id = request_context.accept_request_id(sent_id)
        token = request_context.begin(request_id)
        header = (_REQUEST_ID, request_id.encode())
        status = 500
        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                answered = True
            await send(message)

        start = time.perf_counter()
        self.in_progress.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The app's error handler already answered (a 500) and logged the traceback;
            # the server need not log it again. A response cut short still raises.
            if not answered:
                raise
        finally:
            self.in_progress.dec()
            self._record(scope, status, time.perf_counter() - start)
            request_context.end(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        template = route_template(scope)
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        series = self._series.get((method, template, status))
        if series is None:
            labels = (self.service, method, template, str(status))
            series = self._series[(method, template, status)] = (
                metrics.HTTP_REQUESTS.labels(*labels),
                metrics.HTTP_DURATION.labels(*labels),
            )
        series[0].inc()
        series[1].observe(seconds)
        level = logging.DEBUG if scope["path"] in _QUIET else logging.INFO
        if access_log.isEnabledFor(level):
            duration_ms = round(seconds * 1000, 2)
            # makeRecord + handle, not log(): the same record without the stack walk that
            # looks for the caller's file and line (a third of a log call's cost).
            record = access_log.makeRecord(
                access_log.name,
                level,
                __file__,
                0,
                "%s %s %s %.1fms",
                (method, template, status, duration_ms),
                None,
                extra={
                    SAFE: True,
                    FIELDS: {
                        "service": self.service,
                        "method": method,
                        "route": template,
                        "status": status,
                        "duration_ms": duration_ms,
                    },
                },
            )
            access_log.handle(record)


def route_template(scope: Scope) -> str:
    """The matched route's full path template (``/v1/households/{household_id}``). FastAPI
    keeps routes of included routers unflattened: the effective route (prefix applied) is
    in its scope entry; ``scope["route"]`` holds the router-local route."""
    effective = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(effective, "path_format", None)
    if not template:
        route = scope.get("route")
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template or UNMATCHED


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        families: list[Any] = []
        for collect in getattr(request.app.state, "metrics_collectors", ()):
            try:
                families.extend(f for f in await collect(request.app.state) if f is not None)
            except Exception:  # a failing domain query must not cost the whole scrape
                log.warning("metrics collector %s failed", collect.__name__, exc_info=True)
        return Response(metrics.render(families), media_type=metrics.CONTENT_TYPE)

    return router


def add_collector(app: FastAPI, collect: metrics.DomainCollector) -> None:
    """Add a service's scrape-time gauges (``collect(app.state)`` returns metric families)."""
    if not hasattr(app.state, "metrics_collectors"):
        app.state.metrics_collectors = []
    app.state.metrics_collectors.append(collect)


def install(app: FastAPI, service: str) -> None:
    """Request ids, access log, ``/metrics`` and (when switched on) tracing for a service."""
    app.include_router(metrics_router())
    tracing.instrument_app(app, service)
    # Outermost, outside Starlette's ServerErrorMiddleware, so a 500 carries the id too.
    build_inner = app.build_middleware_stack

    def build_middleware_stack() -> ASGIApp:
        return RequestObserver(build_inner(), service)

    app.build_middleware_stack = build_middleware_stack  # type: ignore[method-assign]


def on_startup(app: FastAPI, service: str) -> None:
    """Once the lifespan made them: watch the pool, trace the engine and the HTTP client,
    and send the request id on every call to another service."""
    metrics.watch_pool(app.state.engine, service)
    tracing.instrument_engine(app.state.engine, service)
    http = app.state.http
    http.event_hooks["request"] = [*http.event_hooks.get("request", []), add_request_id]
    tracing.instrument_http(http, service)


async def add_request_id(request: Any) -> None:
    """httpx request hook: pass the current request id on."""
    request_id = request_context.current_request_id()
    if request_id and request_context.REQUEST_ID_HEADER not in request.headers:
        request.headers[request_context.REQUEST_ID_HEADER] = request_id


def tag_job_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A job's keyword arguments plus the request id (and trace) it is enqueued under."""
    return tracing.tag_job_kwargs(request_context.tag_job_kwargs(kwargs))


JobFunc = Callable[..., Coroutine[Any, Any, Any]]


def observed_job(
    name: str, func: JobFunc, timeout_s: float | None = None, *, routine: bool = False
) -> JobFunc:
    """Wrap a job for the worker: it runs under the request id it was enqueued with (or a
    new one), logs its start, end or failure with its try and duration, counts itself in the
    job metrics and, when tracing is on, runs in a span that continues the request's trace.

    A ``routine`` job (a tick that runs every few seconds) logs its start and success at
    debug level, and its first retries at info: a transient hiccup, such as the registry not
    yet listening while the system starts, is not a warning. Failures are always errors."""
    quiet = logging.DEBUG if routine else logging.INFO

    @functools.wraps(func)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        request_id = kwargs.pop(request_context.JOB_CONTEXT_KWARG, None)
        traceparent = kwargs.pop(tracing.JOB_TRACE_KWARG, None)
        job_id = ctx.get("job_id")
        job_try = ctx.get("job_try", 1)
        # A job no request enqueued (cron) gets an id of its own; its lines carry job_id too.
        # The same rules as a request's id: one that looks like personal data is replaced.
        token = request_context.begin(request_context.accept_request_id(request_id))
        fields: dict[str, Any] = {"job": name, "try": job_try, "job_id": job_id}
        job_log.log(quiet, "job %s started (try %d)", name, job_try, extra={FIELDS: fields})
        metrics.JOBS_STARTED.labels(name).inc()
        in_progress = metrics.JOBS_IN_PROGRESS.labels(name)
        in_progress.inc()
        start = time.perf_counter()
        outcome = "failed"
        failure: BaseException | None = None
        try:
            with tracing.job_span(name, traceparent, {"job.try": job_try, "job.id": str(job_id)}):
                result = await func(ctx, *args, **kwargs)
            outcome = "succeeded"
            return result
        except Retry as exc:
            outcome = "retried"
            fields["retry_in_s"] = round((exc.defer_score or 0) / 1000, 1)
            raise
        except asyncio.CancelledError:
            elapsed = time.perf_counter() - start
            # ARQ cancels a job at its timeout (a failure) or at shutdown (handed back).
            timed_out = timeout_s is not None and elapsed >= timeout_s - 0.5
            outcome = "timed_out" if timed_out else "handed_back"
            raise
        except Exception as exc:
            outcome, failure = "failed", exc
            raise
        finally:
            seconds = time.perf_counter() - start
            in_progress.dec()
            fields["duration_ms"] = round(seconds * 1000, 1)
            fields["outcome"] = outcome
            metrics.JOB_DURATION.labels(name, outcome).observe(seconds)
            if outcome == "succeeded":
                metrics.JOBS_SUCCEEDED.labels(name).inc()
                metrics.JOB_LAST_SUCCESS.labels(name).set(time.time())
                job_log.log(quiet, "job %s succeeded", name, extra={FIELDS: fields})
            elif outcome in ("retried", "handed_back"):
                metrics.JOBS_RETRIED.labels(name).inc()
                level = logging.INFO if routine and job_try < 3 else logging.WARNING
                job_log.log(
                    level, "job %s will run again (%s)", name, outcome, extra={FIELDS: fields}
                )
            else:
                metrics.JOBS_FAILED.labels(name).inc()
                job_log.error("job %s %s", name, outcome, exc_info=failure, extra={FIELDS: fields})
            request_context.end(token)

    return run
