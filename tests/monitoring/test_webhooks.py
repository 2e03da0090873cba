"""Monitoring webhooks through the API: alerts raised and closed by scans and the steps of a
case reach a subscribed partner, signed, from monitoring's outbox."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from services.monitoring.app import create_app
from shared.auth import Role
from shared.settings import Settings
from shared.webhooks.jobs import close, webhooks_deliver, webhooks_dispatch
from tests.conftest import VILLAGE_A, XINGYI, ApiClient, wire_app
from tests.monitoring.test_declarations import _act, _body, _declarations, _person
from tests.monitoring.test_declarations import fresh_limits as fresh_limits
from tests.monitoring.test_scans import _scan
from tests.webhook_receiver import Receiver, client_token, serve


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_loopback": True})


@pytest.fixture
async def hooks(
    hook_settings: Settings, session_maker: Any, queue: Any, registry_http: httpx.AsyncClient
) -> AsyncIterator[ApiClient]:
    app = wire_app(create_app(hook_settings), session_maker, queue, http=registry_http)
    app.state.registry_base_url = "http://registry"
    async with ApiClient(app, hook_settings) as client:
        yield client


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve(Receiver()) as r:
        yield r


async def _subscribe(hooks: ApiClient, url: str, events: list[str]) -> tuple[ApiClient, Any]:
    partner = ApiClient(hooks.app, hooks.settings)
    partner.headers["Authorization"] = f"Bearer {client_token(hooks.settings, XINGYI)}"
    answer = await partner.post("/v1/webhooks", json={"url": url, "events": events})
    assert answer.status_code == 201, answer.text
    return partner, answer.json()


async def _delivered(ctx: dict[str, Any], webhook: Any, receiver: Receiver) -> list[Any]:
    await webhooks_dispatch(ctx, "monitoring")
    await webhooks_deliver(ctx, "monitoring", webhook["id"])
    await close(ctx)
    verifier = Webhook(webhook["secret"])
    return [verifier.verify(r.body, r.headers) for r in receiver.requests]


async def test_alerts_raised_and_closed_by_scans_are_delivered(
    hooks: ApiClient,
    feed: Any,
    job_ctx: dict[str, Any],
    hook_settings: Settings,
    receiver: Receiver,
) -> None:
    ctx = {**job_ctx, "settings": hook_settings}
    partner, webhook = await _subscribe(hooks, receiver.url, ["alert.raised", "alert.closed"])
    below = await feed.household(VILLAGE_A, income={2021: "5200.00"})
    assert (await _scan(hooks, job_ctx))["alerts_raised"] == 1

    [raised] = await _delivered(ctx, webhook, receiver)
    assert raised["type"] == "alert.raised"
    assert raised["data"]["household_id"] == str(below["id"])
    assert raised["data"]["rule"] == "income_below_line"
    assert raised["data"]["region_code"] == VILLAGE_A
    assert raised["data"]["figures"]
    # The department's body is GET's, field for field (no stray id_number: null).
    [listed] = (await hooks.as_(Role.department, XINGYI).get("/v1/alerts")).json()["items"]
    assert {k: v for k, v in raised["data"].items() if k != "seq"} == listed

    await feed.apply(feed.economics(below["id"], VILLAGE_A, 2021, "6100.00"))
    assert (await _scan(hooks, job_ctx, mode="incremental"))["alerts_closed"] == 1
    payloads = await _delivered(ctx, webhook, receiver)
    assert [p["type"] for p in payloads] == ["alert.raised", "alert.closed"]
    assert payloads[1]["data"]["id"] == raised["data"]["id"]
    assert payloads[1]["data"]["status"] == "closed"
    log = (await partner.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()["items"]
    assert [d["status"] for d in log] == ["succeeded", "succeeded"]


async def test_case_steps_are_delivered_as_subscribed(
    hooks: ApiClient,
    feed: Any,
    job_ctx: dict[str, Any],
    hook_settings: Settings,
    receiver: Receiver,
) -> None:
    ctx = {**job_ctx, "settings": hook_settings}
    _, webhook = await _subscribe(hooks, receiver.url, ["case.opened", "case.rejected"])
    household = await feed.household(VILLAGE_A, income={2021: "5000.00"})
    cadre = hooks.as_(Role.village_cadre, VILLAGE_A)
    opened = await cadre.post(
        "/v1/cases", json={"household_id": str(household["id"]), "channel": "cadre"}
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    verified = await cadre.post(
        f"/v1/cases/{case_id}/actions", json={"action": "verify", "note": "王大山家, 入户核实"}
    )
    assert verified.status_code == 200, verified.text

    [event] = await _delivered(ctx, webhook, receiver)  # verify is not subscribed
    assert event["type"] == "case.opened"
    assert event["data"]["id"] == case_id
    assert event["data"]["stage"] == "discovered"
    assert event["data"]["household_id"] == str(household["id"])
    assert "note" not in event["data"]  # free text stays out


async def test_monitoring_refuses_registry_event_types(
    hooks: ApiClient, receiver: Receiver
) -> None:
    partner = ApiClient(hooks.app, hooks.settings)
    partner.headers["Authorization"] = f"Bearer {client_token(hooks.settings, XINGYI)}"
    answer = await partner.post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["household.updated"]}
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "events.0"


async def test_declarations_are_delivered_to_the_roles_that_read_them_only(
    hooks: ApiClient,
    villages: Any,
    job_ctx: dict[str, Any],
    hook_settings: Settings,
    receiver: Receiver,
    fresh_limits: None,
) -> None:
    ctx = {**job_ctx, "settings": hook_settings}
    events = ["declaration.received", "declaration.reviewed"]
    _, department = await _subscribe(hooks, receiver.url, events)
    province = ApiClient(hooks.app, hooks.settings)
    token = client_token(
        hooks.settings, "520000000000", role=Role.province_admin, client_id="province-it"
    )
    province.headers["Authorization"] = f"Bearer {token}"
    answer = await province.post("/v1/webhooks", json={"url": receiver.url, "events": events})
    assert answer.status_code == 201, answer.text
    subscribed = answer.json()
    body = {**_body(_person(45)), "description": "邻居522301198006010454作证"}
    assert (await hooks.post("/v1/declarations", json=body)).status_code == 201
    cadre = hooks.as_(Role.village_cadre, VILLAGE_A)
    [declaration] = await _declarations(cadre)
    await _act(cadre, declaration["id"], action="review")

    # A department reads no declarations: nothing is prepared for it.
    assert await _delivered(ctx, department, receiver) == []
    # Sent side by side (at most webhook_concurrency at a time): in the order of ``seq``.
    payloads = sorted(await _delivered(ctx, subscribed, receiver), key=lambda p: p["data"]["seq"])
    assert [p["type"] for p in payloads] == events
    admin = hooks.as_(Role.province_admin, "520000000000")
    [listed] = await _declarations(admin)
    assert {k: v for k, v in payloads[-1]["data"].items() if k != "seq"} == listed
    assert payloads[-1]["data"]["version"] == 2
