"""Fixtures that capture what an operator would see: every log line of the process as the
services write them in production (``POVGUARD_LOG_FORMAT=json``), and finished trace spans."""

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import tracing
from shared.logging import configure_logging


class CapturedLog:
    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]

    def access(self, route: str | None = None) -> list[dict[str, Any]]:
        return [
            line
            for line in self.lines()
            if line["logger"] == "povguard.access" and (route is None or line["route"] == route)
        ]


@pytest.fixture
def json_log() -> Iterator[CapturedLog]:
    root = logging.getLogger()
    level = root.level
    buffer = io.StringIO()
    handler = configure_logging("registry", fmt="json", level="DEBUG", stream=buffer)
    yield CapturedLog(buffer)
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Each service traces into its own provider (its own service.name), one exporter."""
    exporter = InMemorySpanExporter()

    def provider(service: str) -> TracerProvider:
        traced = TracerProvider(resource=Resource.create({"service.name": f"povguard-{service}"}))
        traced.add_span_processor(SimpleSpanProcessor(exporter))
        return traced

    tracing.use_provider_factory(provider)
    yield exporter
    tracing.use_provider_factory(None)
