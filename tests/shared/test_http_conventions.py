"""HTTP as clients expect it, on every service: gzip for larger answers, CORS only for the
configured origins, and Retry-After on every 429 and 503."""

from fastapi import APIRouter, FastAPI

from shared.app import create_service_app
from shared.errors import ServiceUnavailable, TooManyRequests
from shared.settings import Settings
from tests.conftest import ApiClient


def _app(settings: Settings) -> FastAPI:
    router = APIRouter()

    @router.get("/busy")
    async def busy() -> None:
        raise TooManyRequests("too many attempts; try again in 42 seconds", retry_after_s=42)

    @router.get("/down")
    async def down() -> None:
        raise ServiceUnavailable("the queue is unavailable; retry shortly")

    return create_service_app(
        name="test", title="t", description="t", routers=[router], tags=[], settings=settings
    )


async def test_429_and_503_say_when_to_retry(settings: Settings) -> None:
    async with ApiClient(_app(settings), settings) as client:
        busy = await client.get("/v1/busy")
        assert busy.status_code == 429
        assert busy.headers["retry-after"] == "42"
        down = await client.get("/v1/down")
        assert down.status_code == 503
        assert int(down.headers["retry-after"]) > 0


async def test_large_answers_are_gzipped_small_ones_not(settings: Settings) -> None:
    async with ApiClient(_app(settings), settings) as client:
        spec = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
        assert spec.headers["content-encoding"] == "gzip"
        assert spec.json()["openapi"]  # httpx inflates it
        health = await client.get("/healthz", headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in health.headers


async def test_cors_only_for_configured_origins(settings: Settings) -> None:
    preflight = {
        "Origin": "https://app.povguard.example",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization,if-match",
    }
    async with ApiClient(_app(settings), settings) as client:
        answer = await client.options("/v1/busy", headers=preflight)
        assert "access-control-allow-origin" not in answer.headers  # none by default

    configured = settings.model_copy(update={"cors_origins": "https://app.povguard.example"})
    async with ApiClient(_app(configured), configured) as client:
        answer = await client.options("/v1/busy", headers=preflight)
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "https://app.povguard.example"
        other = await client.options(
            "/v1/busy", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert other.headers.get("access-control-allow-origin") != "https://evil.example"
        simple = await client.get("/healthz", headers={"Origin": "https://app.povguard.example"})
        assert "Retry-After" in simple.headers["access-control-expose-headers"]
