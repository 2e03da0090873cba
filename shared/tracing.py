"""OpenTelemetry tracing: FastAPI, httpx between services, SQLAlchemy/asyncpg and jobs.

On only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (the standard variable; the exporter also
reads the other ``OTEL_EXPORTER_OTLP_*`` ones): then every process exports spans over OTLP/HTTP
as ``povguard-<service>``. Without it nothing is installed and nothing is imported beyond the
API: no middleware, no hooks, zero cost per request."""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from sqlalchemy.ext.asyncio import AsyncEngine

ProviderFactory = Callable[[str], "TracerProvider"]
# Where job spans carry the enqueuing request's trace (a W3C ``traceparent``).
JOB_TRACE_KWARG = "povguard_traceparent"

_factory: ProviderFactory | None = None
_providers: dict[str, "TracerProvider"] = {}


def enabled() -> bool:
    return _factory is not None or bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def use_provider_factory(factory: ProviderFactory | None) -> None:
    """Tests: trace into providers of their own (e.g. an in-memory exporter) instead of OTLP."""
    global _factory
    _factory = factory
    _providers.clear()


def _otlp_provider(service: str) -> "TracerProvider":
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"povguard-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def provider_for(service: str) -> "TracerProvider | None":
    if not enabled():
        return None
    provider = _providers.get(service)
    if provider is None:
        provider = _providers[service] = (_factory or _otlp_provider)(service)
    return provider


def instrument_app(app: "FastAPI", service: str) -> None:
    provider = provider_for(service)
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls="healthz,readyz,metrics",
        exclude_spans=["receive", "send"],  # one span per request, not one per ASGI message
    )


def instrument_http(client: "httpx.AsyncClient", service: str) -> None:
    """Calls to other services get a client span and carry ``traceparent``."""
    provider = provider_for(service)
    if provider is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider)


def instrument_engine(engine: "AsyncEngine", service: str) -> None:
    provider = provider_for(service)
    if provider is None:
        return
    # The engine's own tracer, not SQLAlchemyInstrumentor: that one patches create_engine
    # process-wide and refuses SQLAlchemy 2.1 by its declared range; the per-engine listener
    # it installs works on 2.1 as on 2.0.
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeter

    EngineTracer(
        provider.get_tracer("povguard.sqlalchemy"),
        engine.sync_engine,
        NoOpMeter("povguard").create_up_down_counter("db.client.connections.usage"),
    )


def tag_job_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Carry the current trace into a job being enqueued (nothing when tracing is off)."""
    if not enabled() or JOB_TRACE_KWARG in kwargs:
        return kwargs
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    parent = carrier.get("traceparent")
    return {**kwargs, JOB_TRACE_KWARG: parent} if parent else kwargs


@contextmanager
def job_span(name: str, traceparent: str | None, attributes: dict[str, Any]) -> Iterator[None]:
    """A consumer span around one run of a job, child of the request that enqueued it."""
    provider = provider_for("worker")
    if provider is None:
        yield
        return
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    parent = extract({"traceparent": traceparent}) if traceparent else None
    tracer = provider.get_tracer("povguard.jobs")
    with tracer.start_as_current_span(
        f"job {name}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield
