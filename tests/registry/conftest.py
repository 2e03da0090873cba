"""Fixtures the registry's webhook tests share: an API and job context whose settings let a
subscription target this machine, and a local receiver that records what it is sent."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.registry.app import create_app
from shared.settings import Settings
from tests.conftest import ApiClient, wire_app
from tests.webhook_receiver import Receiver, serve


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_loopback": True})


@pytest.fixture
async def api(hook_settings: Settings, session_maker: Any, queue: Any) -> AsyncIterator[ApiClient]:
    app = wire_app(create_app(hook_settings), session_maker, queue)
    async with ApiClient(app, hook_settings) as client:
        yield client


@pytest.fixture
def ctx(job_ctx: dict[str, Any], hook_settings: Settings) -> dict[str, Any]:
    return {**job_ctx, "settings": hook_settings}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve(Receiver()) as r:
        yield r
