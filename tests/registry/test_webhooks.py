"""Registry webhooks through the API: subscribe, a change is delivered signed (Standard
Webhooks) to a local receiver that fails first and then succeeds, the log, redelivery by
hand, disabling after days of failures, and the refusals."""

import json
import time
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook

from services.registry.webhooks import HUB
from shared import idnumber
from shared.auth import Principal, Role, Scope
from shared.db import create_session_maker
from shared.settings import Settings
from shared.webhooks import service as webhook_service
from shared.webhooks.jobs import close, webhooks_deliver, webhooks_dispatch, webhooks_sweep
from shared.webhooks.schemas import WebhookCreate
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, XINGYI, ApiClient
from tests.registry.helpers import household, id_number, member
from tests.webhook_receiver import Receiver, client_token, free_port, serve


def partner(
    api: ApiClient,
    region: str = XINGYI,
    scopes: set[str] | None = None,
    role: Role = Role.department,
    client_id: str = "medical-insurance",
) -> ApiClient:
    client = ApiClient(api.app, api.settings)
    token = client_token(api.settings, region, scopes, role, client_id)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


async def _deliver(ctx: dict[str, Any], webhook_id: str) -> None:
    await webhooks_dispatch(ctx, "registry")
    await webhooks_deliver(ctx, "registry", webhook_id)
    await close(ctx)


async def _subscribe(client: ApiClient, url: str, events: list[str], **extra: Any) -> Any:
    answer = await client.post("/v1/webhooks", json={"url": url, "events": events, **extra})
    assert answer.status_code == 201, answer.text
    return answer


async def test_a_change_is_delivered_signed_retried_after_a_failure_and_logged(
    api: ApiClient, ctx: dict[str, Any], receiver: Receiver, villages: list[str]
) -> None:
    dept = partner(api)
    created = await _subscribe(dept, receiver.url, ["household.created", "member.created"])
    webhook = created.json()
    assert webhook["secret"].startswith("whsec_")
    assert created.headers["Location"] == f"/v1/webhooks/{webhook['id']}"

    cadre = api.as_(Role.village_cadre, VILLAGE_A)
    head = member("head", name="王大山", id_number=id_number(date(1970, 1, 2)))
    answer = await cadre.post("/v1/households", json=household(VILLAGE_A, members=[head]))
    assert answer.status_code == 201, answer.text
    household_id = answer.json()["id"]

    receiver.statuses = [500, 500]  # the receiver fails first
    await _deliver(ctx, webhook["id"])
    assert len(receiver.requests) == 2  # the household and its head
    log = (await dept.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()["items"]
    assert [(d["event_type"], d["status"], d["attempts"], d["last_status_code"]) for d in log] == [
        ("household.created", "pending", 1, 500),
        ("member.created", "pending", 1, 500),
    ]
    assert all(d["next_attempt_at"] > d["last_attempt_at"] for d in log)
    assert all(d["last_latency_ms"] is not None for d in log)

    # By hand, one of them; the other when its retry falls due.
    retried = await dept.post(f"/v1/webhooks/{webhook['id']}/deliveries/{log[0]['id']}/retry")
    assert retried.status_code == 202, retried.text
    await _deliver(ctx, webhook["id"])
    await ctx["session_maker"]().execute(
        text("UPDATE registry.webhook_deliveries SET next_attempt_at = now() - interval '1 s'")
    )
    await _deliver(ctx, webhook["id"])
    log = (await dept.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()["items"]
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in log] == [
        ("succeeded", 2, 200),
        ("succeeded", 2, 200),
    ]

    # Every attempt is signed with the subscription's secret; the id is stable across retries.
    verifier = Webhook(webhook["secret"])
    payloads = [verifier.verify(r.body, r.headers) for r in receiver.requests]
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(receiver.requests) == 4
    assert len(set(ids)) == 2
    assert {d["webhook_id"] for d in log} == set(ids)
    event = next(p for p in payloads if p["type"] == "member.created")
    assert set(event) == {"type", "timestamp", "data"}
    # A department sees what the change feed shows it: no names, masked ID numbers.
    assert event["data"]["household_id"] == household_id
    assert event["data"]["op"] == "create"
    assert event["data"]["entity"] == "member"
    assert event["data"]["data"]["name"] is None
    assert event["data"]["data"]["id_number"] == idnumber.mask(head["id_number"])
    # Its feed cursor resumes the feed right after it.
    reader = partner(api, scopes={Scope.changes_read.value})  # the feed needs its own scope
    feed = await reader.get("/v1/changes", params={"after": event["data"]["cursor"]})
    assert feed.status_code == 200, feed.text
    assert all(i["seq"] > event["data"]["seq"] for i in feed.json()["items"])


async def test_deliveries_follow_the_subscriptions_region_events_and_role(
    api: ApiClient, ctx: dict[str, Any], receiver: Receiver, villages: list[str]
) -> None:
    admin = partner(api, region="520000000000", role=Role.province_admin, client_id="admin")
    everything = (await _subscribe(admin, receiver.url, ["*"])).json()
    members_only = (
        await _subscribe(partner(api), receiver.url, ["member.created"], region_code=XINGYI)
    ).json()

    head = member("head", name="张三")
    await api.as_(Role.county_officer, XINGYI).post(
        "/v1/households", json=household(VILLAGE_A, "H-X", members=[head])
    )
    await api.as_(Role.county_officer, PUAN).post(
        "/v1/households",
        json=household(
            PUAN_VILLAGE, "H-P", members=[member("head", id_number=id_number(area="522323"))]
        ),
    )
    await webhooks_dispatch(ctx, "registry")
    for webhook in (everything, members_only):
        await webhooks_deliver(ctx, "registry", webhook["id"])
    await close(ctx)

    seen: dict[str, list[dict[str, Any]]] = {everything["id"]: [], members_only["id"]: []}
    for r in receiver.requests:
        for webhook in (everything, members_only):
            try:
                seen[webhook["id"]].append(Webhook(webhook["secret"]).verify(r.body, r.headers))
            except Exception:
                continue
    assert sorted(p["type"] for p in seen[everything["id"]]) == [
        "household.created",
        "household.created",
        "member.created",
        "member.created",
    ]
    [only] = seen[members_only["id"]]  # Puan's member is outside Xingyi
    assert only["type"] == "member.created"
    assert only["data"]["region_code"] == VILLAGE_A
    # A province administrator sees names and full ID numbers, as on the feed.
    full = next(
        p
        for p in seen[everything["id"]]
        if p["type"] == "member.created" and p["data"]["region_code"] == VILLAGE_A
    )
    assert full["data"]["data"]["name"] == "张三"
    assert full["data"]["data"]["id_number"] == head["id_number"]


async def test_a_subscription_failing_for_days_is_disabled_and_a_manual_success_revives_it(
    api: ApiClient, ctx: dict[str, Any], receiver: Receiver, villages: list[str], session: Any
) -> None:
    dept = partner(api)
    webhook = (await _subscribe(dept, receiver.url, ["household.created"])).json()
    await api.as_(Role.village_cadre, VILLAGE_A).post("/v1/households", json=household(VILLAGE_A))
    await session.execute(
        text(
            "UPDATE registry.webhook_subscriptions "
            "SET failing_since = now() - interval '4 days' WHERE id = :id"
        ),
        {"id": UUID(webhook["id"])},
    )
    receiver.statuses = [503]
    await _deliver(ctx, webhook["id"])

    status = (await dept.get(f"/v1/webhooks/{webhook['id']}")).json()
    assert status["status"] == "disabled"
    assert "every delivery failed since" in status["status_reason"]
    assert "HTTP 503" in status["status_reason"]
    [failed] = (await dept.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()["items"]
    assert failed["status"] == "failed"
    assert failed["next_attempt_at"] is None

    # Nothing new is delivered to a disabled subscription...
    await api.as_(Role.village_cadre, VILLAGE_A).post(
        "/v1/households", json=household(VILLAGE_A, "H0002")
    )
    await _deliver(ctx, webhook["id"])
    assert len(receiver.requests) == 1
    # ...until a delivery redelivered by hand succeeds.
    retry = f"/v1/webhooks/{webhook['id']}/deliveries/{failed['id']}/retry"
    assert (await dept.post(retry)).status_code == 202
    await _deliver(ctx, webhook["id"])
    assert len(receiver.requests) == 2
    status = (await dept.get(f"/v1/webhooks/{webhook['id']}")).json()
    assert (status["status"], status["status_reason"], status["failing_since"]) == (
        "active",
        None,
        None,
    )


async def test_the_sweep_redelivers_what_is_due(
    api: ApiClient, ctx: dict[str, Any], receiver: Receiver, villages: list[str]
) -> None:
    dept = partner(api)
    await _subscribe(dept, receiver.url, ["household.created"])
    await api.as_(Role.village_cadre, VILLAGE_A).post("/v1/households", json=household(VILLAGE_A))
    await webhooks_dispatch(ctx, "registry")
    assert (await webhooks_sweep(ctx))["registry"] == 1


async def test_subscriptions_are_listed_and_deleted_by_their_owner_only(
    api: ApiClient, receiver: Receiver, villages: list[str]
) -> None:
    dept, other = partner(api), partner(api, client_id="civil-affairs")
    ids = [(await _subscribe(dept, receiver.url, ["*"])).json()["id"] for _ in range(3)]
    page = (await dept.get("/v1/webhooks", params={"limit": 2})).json()
    rest = (await dept.get("/v1/webhooks", params={"cursor": page["next_cursor"]})).json()
    assert [w["id"] for w in page["items"] + rest["items"]] == ids
    assert "secret" not in page["items"][0]
    assert (await other.get("/v1/webhooks")).json()["items"] == []
    assert (await other.get(f"/v1/webhooks/{ids[0]}")).status_code == 404
    assert (await other.delete(f"/v1/webhooks/{ids[0]}")).status_code == 404
    assert (await other.get(f"/v1/webhooks/{ids[0]}/deliveries")).status_code == 404
    assert (await dept.delete(f"/v1/webhooks/{ids[0]}")).status_code == 204
    assert (await dept.get(f"/v1/webhooks/{ids[0]}")).status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"url": "http://partner.example/hook"}, "url", "must use https"),
        ({"url": "https://10.1.2.3/hook"}, "url", "non-public address (10.1.2.3)"),
        ({"url": "https://169.254.169.254/latest"}, "url", "non-public address"),
        ({"url": "https://[::ffff:192.168.0.1]/x"}, "url", "non-public address"),
        ({"url": "https://user:pw@partner.example/"}, "url", "user name or password"),
        ({"url": "ftp://partner.example/"}, "url", "absolute http(s) URL"),
        ({"url": "https://partner.example/a\nb"}, "url", "absolute http(s) URL"),
        ({"url": "https://partner.example:99999/"}, "url", "absolute http(s) URL"),
        ({"url": "https://no-such-host.invalid/hook"}, "url", "does not resolve"),
        ({"url": "UNREACHABLE"}, "url", "nothing answers"),
        ({"events": ["household.exploded"]}, "events.0", "unknown event type"),
        ({"events": ["*", "member.created"]}, "events", '["*"] alone'),
        ({"region_code": "522323000000"}, "region_code", "outside your region"),
        ({"region_code": "5223"}, "region_code", "12-digit"),
    ],
)
async def test_bad_subscriptions_are_422_naming_the_field(
    api: ApiClient, receiver: Receiver, body: dict[str, Any], field: str, says: str
) -> None:
    if body.get("url") == "UNREACHABLE":
        body = {"url": f"http://127.0.0.1:{free_port()}/hook"}
    answer = await partner(api).post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["*"], **body}
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    [error] = answer.json()["errors"]
    assert error["field"] == field
    assert says in error["message"]


async def test_loopback_is_refused_unless_the_operator_allows_it(
    registry: ApiClient, receiver: Receiver
) -> None:
    answer = await partner(registry).post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["*"]}
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "url"


async def test_clients_without_the_scope_and_other_roles_are_403(
    api: ApiClient, receiver: Receiver
) -> None:
    body = {"url": receiver.url, "events": ["*"]}
    no_scope = partner(api, scopes={Scope.changes_read.value})
    assert (await no_scope.post("/v1/webhooks", json=body)).status_code == 403
    assert (await no_scope.get("/v1/webhooks")).status_code == 403
    cadre = api.as_(Role.village_cadre, VILLAGE_A)
    assert (await cadre.post("/v1/webhooks", json=body)).status_code == 403
    # A person (no scopes) with a subscribing role passes the scope check.
    admin = api.as_(Role.province_admin, "520000000000")
    assert (await admin.post("/v1/webhooks", json=body)).status_code == 201


async def test_an_unknown_delivery_or_a_pending_one_cannot_be_retried(
    api: ApiClient, ctx: dict[str, Any], receiver: Receiver, villages: list[str]
) -> None:
    dept = partner(api)
    webhook = (await _subscribe(dept, receiver.url, ["household.created"])).json()
    await api.as_(Role.village_cadre, VILLAGE_A).post("/v1/households", json=household(VILLAGE_A))
    await webhooks_dispatch(ctx, "registry")
    [pending] = (await dept.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()["items"]
    base = f"/v1/webhooks/{webhook['id']}/deliveries"
    assert (await dept.post(f"{base}/{pending['id']}/retry")).status_code == 409
    missing = f"{base}/{UUID(int=1)}/retry"
    assert (await dept.post(missing)).status_code == 404
    assert json.loads((await dept.get(f"{base}?status=bogus")).text)["status"] == 422


async def test_events_are_dispatched_in_commit_order(
    engine: AsyncEngine, hook_settings: Settings, receiver: Receiver
) -> None:
    """No change is delivered before its commit, none is skipped when an older transaction
    commits later, and deliveries follow the commits (real transactions, not the test's
    rolled-back one)."""
    region = "522328999" + f"{uuid4().int % 1000:03d}"
    owner = Principal(sub="client:late", role=Role.department, region_code=region)
    session_maker = create_session_maker(engine)
    async with session_maker() as session, session.begin():
        created = await webhook_service.subscribe(
            session,
            HUB,
            hook_settings,
            owner,
            WebhookCreate(url=receiver.url, events=["*"]),
        )

    async def dispatched() -> list[int]:
        async with session_maker() as session, session.begin():
            await webhook_service.dispatch_pass(session, HUB, hook_settings)
        async with session_maker() as session:
            rows = await session.execute(
                text(
                    "SELECT body FROM registry.webhook_deliveries WHERE subscription_id = :s "
                    "ORDER BY id"
                ),
                {"s": created.id},
            )
            return [json.loads(r.body)["data"]["data"]["n"] for r in rows]

    insert = text(
        "INSERT INTO registry.change_log (actor, actor_role, action, entity, entity_id, "
        "region_code, op, data) VALUES ('test', 'service', 'update', 'household', :n, :region, "
        "'update', CAST(:data AS jsonb))"
    )
    older, newer = await engine.connect(), await engine.connect()
    try:
        await older.begin()
        await older.execute(text("SELECT pg_current_xact_id()"))  # the older xid, taken first
        await newer.begin()
        await newer.execute(insert, {"n": "2", "region": region, "data": '{"n": 2}'})
        await newer.commit()
        await older.execute(insert, {"n": "1", "region": region, "data": '{"n": 1}'})
        assert await dispatched() == [2]  # committed first: delivered first
        await older.commit()
        assert await dispatched() == [2, 1]  # then the older transaction's, as it commits
    finally:
        await older.close()
        await newer.close()
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM registry.webhook_subscriptions WHERE id = :s"), {"s": created.id}
            )
            await conn.execute(text("DELETE FROM registry.webhook_cursors"))
            # The change log is append-only: the test's own entries go past its trigger.
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(
                text("DELETE FROM registry.change_log WHERE region_code = :r"), {"r": region}
            )


async def test_a_partner_that_does_not_answer_in_time_is_retried_later(
    api: ApiClient, ctx: dict[str, Any], villages: list[str]
) -> None:
    """A short timeout per attempt: a slow partner holds its own delivery run briefly,
    never the others' (each subscription has its own run)."""
    ctx = {**ctx, "settings": ctx["settings"].model_copy(update={"webhook_timeout_s": 0.3})}
    async with serve(Receiver(delay_s=2.0)) as slow, serve(Receiver()) as fast:
        dept = partner(api)
        slow_hook = (await _subscribe(dept, slow.url, ["household.created"])).json()
        fast_hook = (await _subscribe(dept, fast.url, ["household.created"])).json()
        await api.as_(Role.village_cadre, VILLAGE_A).post(
            "/v1/households", json=household(VILLAGE_A)
        )
        await webhooks_dispatch(ctx, "registry")
        started = time.monotonic()
        await webhooks_deliver(ctx, "registry", slow_hook["id"])
        assert time.monotonic() - started < 1.5
        await webhooks_deliver(ctx, "registry", fast_hook["id"])
        await close(ctx)
    [late] = (await dept.get(f"/v1/webhooks/{slow_hook['id']}/deliveries")).json()["items"]
    assert late["status"] == "pending"
    assert late["last_status_code"] is None
    assert late["last_error"] == "no answer within the timeout"
    assert late["next_attempt_at"] > late["last_attempt_at"]
    [done] = (await dept.get(f"/v1/webhooks/{fast_hook['id']}/deliveries")).json()["items"]
    assert done["status"] == "succeeded"
