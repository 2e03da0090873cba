"""The monitoring service (port 8002)."""

from fastapi import FastAPI

from shared.app import create_service_app
from shared.settings import Settings

TAGS: list[dict[str, str]] = []


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="monitoring",
        title="Povguard monitoring",
        description="Early warning (防止返贫动态监测): policy, department signals, self-declarations, scans, alerts and the monitored-household case procedure.",
        routers=[],
        tags=TAGS,
        settings=settings,
    )
