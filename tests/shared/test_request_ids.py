"""Request ids: accepted from X-Request-ID (or made), returned on every answer, errors and
router 404s included, and on every log line of the request."""

import re

from fastapi import APIRouter

from shared.app import create_service_app
from shared.auth import Role
from tests.conftest import XINGYI, ApiClient, wire_app
from tests.registry.helpers import id_number

boom = APIRouter()
NUMBER = id_number()


@boom.get("/boom")
async def explode() -> None:
    raise RuntimeError(f"could not match {NUMBER}")


async def test_a_sent_request_id_comes_back_and_names_the_log_lines(registry, json_log) -> None:
    response = await registry.get("/healthz", headers={"X-Request-ID": "rq-12345"})
    assert response.headers["X-Request-ID"] == "rq-12345"
    anonymous = await registry.get("/v1/households", headers={"X-Request-ID": "rq-401"})
    assert anonymous.status_code == 401
    assert anonymous.headers["X-Request-ID"] == "rq-401"
    assert json_log.access("/v1/households")[0]["request_id"] == "rq-401"


async def test_an_id_is_made_when_none_or_an_unusable_one_is_sent(registry) -> None:
    made = await registry.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    other = await registry.get("/healthz")
    assert other.headers["X-Request-ID"] != made.headers["X-Request-ID"]
    for unusable in ("has spaces in it", "x" * 200, 'quote"d'):
        answer = await registry.get("/healthz", headers={"X-Request-ID": unusable})
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])


async def test_router_404_validation_errors_and_500s_carry_the_id(
    registry, settings, session_maker, queue, json_log
) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    missing = await officer.get("/v1/no-such-thing", headers={"X-Request-ID": "rq-404"})
    assert (missing.status_code, missing.headers["X-Request-ID"]) == (404, "rq-404")
    invalid = await officer.get("/v1/households/not-a-uuid", headers={"X-Request-ID": "rq-422"})
    assert (invalid.status_code, invalid.headers["X-Request-ID"]) == (422, "rq-422")
    app = wire_app(
        create_service_app(
            name="funds", title="t", description="d", routers=[boom], tags=[], settings=settings
        ),
        session_maker,
        queue,
    )
    async with ApiClient(app, settings) as client:
        failed = await client.get("/v1/boom", headers={"X-Request-ID": "rq-500"})
    assert failed.status_code == 500
    assert failed.headers["X-Request-ID"] == "rq-500"
    assert failed.headers["content-type"] == "application/problem+json"
    (error,) = [line for line in json_log.lines() if line["level"] == "error"]
    assert error["request_id"] == "rq-500"
    assert "RuntimeError" in error["exception"]
    assert NUMBER not in json_log.text
    (access,) = json_log.access("/v1/boom")
    assert (access["status"], access["service"], access["request_id"]) == (500, "funds", "rq-500")
    assert json_log.access("unmatched")[0]["request_id"] == "rq-404"
