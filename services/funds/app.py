"""The funds service (port 8003)."""

from fastapi import FastAPI

from shared.app import create_service_app
from shared.settings import Settings

TAGS: list[dict[str, str]] = []


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="funds",
        title="Povguard funds",
        description="Linking funds (衔接资金) from source to payment, the project library (项目库), and the assets projects formed (扶贫项目资产).",
        routers=[],
        tags=TAGS,
        settings=settings,
    )
