"""The DCI Social Registry API as a partner uses it: a client registers its Ed25519 key, gets
a token at the standard's token path, and sends signed envelopes built from the standard's
schemas; every request and answer is validated against the (vendored, corrected) YAML, and
every callback and notification reaches a real receiver whose signature checks against the
registry's published keys."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from referencing import Registry
from referencing.jsonschema import DRAFT4
from sqlalchemy import text

from services.registry.app import create_app
from services.registry.dci import jobs as dci_jobs
from services.registry.dci import signing
from shared.auth import Role
from shared.settings import Settings
from tests.conftest import PUAN_VILLAGE, VILLAGE_A, XINGYI, ApiClient, wire_app
from tests.registry import dci_kit
from tests.registry.dci_kit import CORE, SOCIAL, Partner, by_id, predicate, search_message
from tests.registry.helpers import household, id_number, member
from tests.webhook_receiver import Receiver, serve

ADMIN_REGION = "520000000000"


@pytest.fixture
def dci_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_loopback": True})


@pytest.fixture
async def api(dci_settings: Settings, session_maker: Any, queue: Any) -> AsyncIterator[ApiClient]:
    app = wire_app(create_app(dci_settings), session_maker, queue)
    async with ApiClient(app, dci_settings) as client:
        yield client


@pytest.fixture
def ctx(job_ctx: dict[str, Any], dci_settings: Settings) -> dict[str, Any]:
    return {**job_ctx, "settings": dci_settings}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve(Receiver(), "/dci/callback") as r:
        yield r


async def register(
    api: ApiClient,
    role: Role = Role.department,
    region: str = XINGYI,
    scopes: tuple[str, ...] = ("registry.search", "registry.subscribe"),
) -> Partner:
    """A client registered with its public key, signed in at ``/dci/oauth2/client/token``."""
    key = Ed25519PrivateKey.generate()
    jwk = {k: v for k, v in signing.public_jwk(key.public_key()).items() if k != "kid"}
    admin = api.as_(Role.province_admin, ADMIN_REGION)
    created = await admin.post(
        "/v1/clients",
        json={
            "name": "民政 DCI",
            "role": role.value,
            "region_code": region,
            "scopes": list(scopes),
            "jwks": {"keys": [jwk]},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["jwks"]["keys"][0]["kid"] == signing.thumbprint(jwk["x"])
    form = {
        "grant_type": "client_credentials",
        "client_id": body["client_id"],
        "client_secret": body["client_secret"],
        "scope": " ".join(scopes),
    }
    dci_kit.validate_schema(dci_kit.AUTHZ, "OAuth2ClientTokenRequest", form)
    token = await api.post("/dci/oauth2/client/token", data=form)
    assert token.status_code == 200, token.text
    dci_kit.validate_schema(dci_kit.AUTHZ, "OAuth2ClientTokenResponse", token.json())
    return Partner(api, body["client_id"], token.json()["access_token"], key)


async def jwks(api: ApiClient) -> dict[str, Any]:
    answer = await api.get("/.well-known/jwks.json")
    assert answer.status_code == 200
    return answer.json()


async def seed(
    api: ApiClient, number: str, region: str = VILLAGE_A, **fields: Any
) -> dict[str, Any]:
    admin = api.as_(Role.province_admin, ADMIN_REGION)
    answer = await admin.post("/v1/households", json=household(region, number, **fields))
    assert answer.status_code == 201, answer.text
    return answer.json()


async def sync_search(
    partner: Partner, api: ApiClient, *criteria: dict[str, Any], check: bool = True
) -> dict[str, Any]:
    body = partner.envelope("search", search_message(*criteria), total=len(criteria))
    if check:  # (some faulty requests are faulty for the schema too)
        dci_kit.validate(SOCIAL, "/registry/sync/search", body)
    answer = await partner.post("/dci/registry/sync/search", body)
    assert answer.status_code == 200, answer.text
    dci_kit.validate(SOCIAL, "/registry/sync/search", answer.json(), "default")
    return dci_kit.verified(answer.json(), await jwks(api), api.settings.dci_sender_id)


def attributes(record: dict[str, Any]) -> dict[str, Any]:
    return {a["name"]: a["value"] for a in record["additional_attributes"]}


async def test_the_registry_publishes_its_key_with_an_rfc7638_kid(api: ApiClient) -> None:
    keys = (await jwks(api))["keys"]
    assert len(keys) == 1
    (key,) = keys
    assert key | {"x": "_"} == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": "_",
        "kid": key["kid"],
        "use": "sig",
        "alg": "EdDSA",
    }
    assert key["kid"] == signing.thumbprint(key["x"])
    # RFC 8037 appendix A.3's example key has this thumbprint: the computation is the RFC's.
    assert signing.thumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo") == (
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    )


async def test_a_clients_keys_are_checked_and_replaced(api: ApiClient) -> None:
    admin = api.as_(Role.province_admin, ADMIN_REGION)
    x = signing.public_jwk(Ed25519PrivateKey.generate().public_key())["x"]
    base = {"name": "p", "role": "department", "region_code": XINGYI}
    for jwk, says in (
        ({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "mine"}, "thumbprint"),
        ({"kty": "OKP", "crv": "Ed25519", "x": x, "extra": 1}, "extra"),
        ({"kty": "RSA", "crv": "Ed25519", "x": x}, "kty"),
    ):
        answer = await admin.post("/v1/clients", json=base | {"jwks": {"keys": [jwk]}})
        assert answer.status_code == 422, answer.text
        assert says in answer.text
    partner = await register(api)
    current = (await admin.get(f"/v1/clients/{partner.client_id}")).json()
    new = signing.public_jwk(Ed25519PrivateKey.generate().public_key())
    patched = await admin.patch(
        f"/v1/clients/{partner.client_id}",
        json={"jwks": {"keys": [new]}},
        headers={"If-Match": str(current["version"])},
    )
    assert patched.status_code == 200, patched.text
    assert [k["kid"] for k in patched.json()["jwks"]["keys"]] == [new["kid"]]
    # The old key no longer verifies.
    answer = await partner.post(
        "/dci/registry/sync/search", partner.envelope("search", search_message(by_id("UIN", "x")))
    )
    assert answer.json()["message"]["error"]["code"] == "err.signature.invalid"


async def test_sync_search_by_id_number_and_household_number_masked_and_scoped(
    api: ApiClient, villages: list[str]
) -> None:
    head = id_number()
    inside = await seed(api, "H-IN", members=[member("head", id_number=head)])
    outside_head = id_number(area="522323")
    await seed(api, "H-OUT", PUAN_VILLAGE, members=[member("head", id_number=outside_head)])
    department = await register(api)
    answer = await sync_search(
        department,
        api,
        by_id("UIN", head),
        by_id("HOUSEHOLD_ID", "H-IN"),
        by_id("UIN", outside_head),
    )
    header, message = answer["header"], answer["message"]
    assert header["action"] == "on-search"
    assert header["status"] == "succ"
    assert header["receiver_id"] == department.client_id
    assert header["completed_count"] == 3
    first, second, third = message["search_response"]
    assert [r["status"] for r in (first, second, third)] == ["succ", "succ", "succ"]
    (record,) = first["data"]["reg_records"]
    assert record["@type"] == "spdci:Group"
    assert record["group_identifier"][0] == {
        "@type": "Identifier",
        "identifier_type": "HOUSEHOLD_ID",
        "identifier_value": "H-IN",
    }
    assert attributes(record)["household_uuid"] == inside["id"]
    shown = record["group_head_info"]["member_identifier"][0]["identifier_value"]
    assert shown == head[:4] + "*" * 13 + head[-1]  # a department sees the mask
    assert "name" not in record["group_head_info"]["demographic_info"]  # and no names
    assert record["group_head_info"]["demographic_info"]["birth_date"] is None
    assert second["data"]["reg_records"][0]["@id"] == record["@id"]
    # Outside the client's region: nothing, as every read.
    assert third["data"]["reg_records"] == []
    assert third["pagination"]["total_count"] == 0
    officer = await register(api, Role.county_officer)
    full = await sync_search(officer, api, by_id("UIN", head))
    person = full["message"]["search_response"][0]["data"]["reg_records"][0]["group_head_info"]
    assert person["member_identifier"][0]["identifier_value"] == head
    assert person["demographic_info"]["name"] == {"@type": "Name", "full_name": "王小明"}


async def test_predicate_search_filters_sorts_and_pages(
    api: ApiClient, villages: list[str]
) -> None:
    today = date.today()
    old = today.replace(year=today.year - 70)
    await seed(api, "P-1", members=[member("head", id_number=id_number(old))])
    await seed(api, "P-2", category="monitored")
    await seed(api, "P-3")
    officer = await register(api, Role.county_officer)
    answer = await sync_search(
        officer,
        api,
        predicate(
            ("region_code", "eq", VILLAGE_A),
            ("category", "in", ["poverty_alleviated"]),
            sort=[{"attribute_name": "household_no", "sort_order": "desc"}],
            pagination={"page_size": 1, "page_number": 2},
        ),
        predicate(("age", "ge", 65), ("age", "le", 75)),
        predicate(
            ("last_updated", "ge", "2000-01-01T00:00:00+08:00"), ("category", "eq", "monitored")
        ),
    )
    paged, aged, monitored = answer["message"]["search_response"]
    assert paged["pagination"] == {"page_size": 1, "page_number": 2, "total_count": 2}
    assert [r["group_identifier"][0]["identifier_value"] for r in paged["data"]["reg_records"]] == [
        "P-1"
    ]
    assert [r["group_identifier"][0]["identifier_value"] for r in aged["data"]["reg_records"]] == [
        "P-1"
    ]
    assert [
        r["group_identifier"][0]["identifier_value"] for r in monitored["data"]["reg_records"]
    ] == ["P-2"]


@pytest.mark.parametrize(
    ("criteria", "reason"),
    [
        (
            {"query_type": "expression", "query": {"type": "x", "value": {}}},
            "rjct.search_criteria.invalid",
        ),
        (by_id("PASSPORT", "E1234"), "rjct.search_criteria.invalid"),
        (predicate(("income", "gt", 1)), "rjct.search_criteria.invalid"),
        (predicate(("region_code", "eq", "530000000000")), "rjct.search_criteria.invalid"),
        (
            by_id("UIN", "5223") | {"sort": [{"attribute_name": "name"}]},
            "rjct.search_criteria.invalid",
        ),
        (by_id("HOUSEHOLD_ID", "1") | {"sort": [{"attribute_name": "name"}]}, "rjct.sort.invalid"),
        (
            by_id("HOUSEHOLD_ID", "1") | {"pagination": {"page_size": 1000}},
            "rjct.pagination.invalid",
        ),
    ],
)
async def test_each_request_of_a_batch_is_rejected_on_its_own(
    api: ApiClient, villages: list[str], criteria: dict[str, Any], reason: str
) -> None:
    partner = await register(api)
    answer = await sync_search(partner, api, criteria, by_id("HOUSEHOLD_ID", "none"), check=False)
    bad, good = answer["message"]["search_response"]
    assert (bad["status"], bad["status_reason_code"]) == ("rjct", reason)
    assert bad["status_reason_message"]
    assert good["status"] == "succ"


async def test_too_many_records_is_a_reason_not_a_page(
    dci_settings: Settings, session_maker: Any, queue: Any, villages: list[str]
) -> None:
    small = dci_settings.model_copy(update={"dci_max_records": 2})
    app = wire_app(create_app(small), session_maker, queue)
    async with ApiClient(app, small) as api:
        for n in range(3):
            await seed(api, f"M-{n}")
        partner = await register(api)
        body = partner.envelope("search", search_message(predicate(("region_code", "eq", XINGYI))))
        item = (await partner.post("/dci/registry/sync/search", body)).json()["message"][
            "search_response"
        ][0]
    assert item["status_reason_code"] == "rjct.search.too_many_records_found"


async def test_unsigned_wrongly_signed_and_unauthorised_requests_are_refused(
    api: ApiClient, villages: list[str]
) -> None:
    partner = await register(api)
    good = partner.envelope("search", search_message(by_id("HOUSEHOLD_ID", "x")))

    async def refused(body: Any, status: int, code: str, client: ApiClient | None = None) -> None:
        answer = await (client or partner.http).post("/dci/registry/sync/search", json=body)
        assert answer.status_code == status, answer.text
        dci_kit.validate(SOCIAL, "/registry/search", answer.json(), "default")
        error = answer.json()["message"]["error"]
        assert (answer.json()["message"]["ack_status"], error["code"]) == ("ERR", code)
        assert error["message"]

    await refused({k: v for k, v in good.items() if k != "signature"}, 401, "err.signature.missing")
    tampered = json.loads(json.dumps(good))
    tampered["message"]["transaction_id"] = "T-2"
    await refused(tampered, 401, "err.signature.invalid")
    stranger = Partner(api, partner.client_id, "", Ed25519PrivateKey.generate())
    await refused(stranger.envelope("search", good["message"]), 401, "err.signature.invalid")
    expired = dict(
        good, signature=partner.key.sign(good["header"], good["message"], now=1_600_000_000)
    )
    await refused(expired, 401, "err.signature.invalid")
    other = dict(good, header=good["header"] | {"sender_id": "someone"})
    await refused(other, 401, "err.sender_id.invalid")
    header = good["header"] | {"receiver_id": "another-registry"}
    elsewhere = {
        "signature": partner.key.sign(header, good["message"]),
        "header": header,
        "message": good["message"],
    }
    await refused(elsewhere, 400, "err.receiver_id.invalid")
    await refused({"header": {}}, 400, "err.request.bad")
    anonymous = ApiClient(api.app, api.settings)
    await refused(good, 401, "err.request.unauthorized", anonymous)
    await refused(good, 403, "err.request.forbidden", api.as_(Role.county_officer, XINGYI))
    subscriber_only = await register(api, scopes=("registry.subscribe",))
    body = subscriber_only.envelope("search", good["message"])
    await refused(body, 403, "err.request.forbidden", subscriber_only.http)
    # In Chinese unless asked for English.
    chinese = ApiClient(api.app, api.settings)
    chinese.headers["Authorization"] = partner.http.headers["Authorization"]
    del chinese.headers["Accept-Language"]
    answer = await chinese.post("/dci/registry/sync/search", json=tampered)
    assert "签名" in answer.json()["message"]["error"]["message"]


async def test_requests_over_the_per_minute_limit_are_refused(
    dci_settings: Settings, session_maker: Any, queue: Any, villages: list[str]
) -> None:
    limited = dci_settings.model_copy(update={"dci_rate_per_minute": 2})
    app = wire_app(create_app(limited), session_maker, queue)
    async with ApiClient(app, limited) as api:
        partner = await register(api)
        statuses = []
        for _ in range(3):
            body = partner.envelope("search", search_message(by_id("HOUSEHOLD_ID", "x")))
            answer = await partner.post("/dci/registry/sync/search", body)
            statuses.append(answer.status_code)
    assert statuses == [200, 200, 429]
    assert answer.json()["message"]["error"]["code"] == "err.request.too_many_requests"
    assert int(answer.headers["Retry-After"]) >= 1


async def test_async_search_is_acknowledged_then_called_back_signed(
    api: ApiClient, ctx: dict[str, Any], receiver: Receiver, villages: list[str]
) -> None:
    await seed(api, "A-1")
    partner = await register(api)
    body = partner.envelope(
        "search", search_message(by_id("HOUSEHOLD_ID", "A-1")), sender_uri=receiver.url
    )
    dci_kit.validate(SOCIAL, "/registry/search", body)
    answer = await partner.post("/dci/registry/search", body)
    assert answer.status_code == 200, answer.text
    dci_kit.validate(SOCIAL, "/registry/search", answer.json(), "default")
    ack = answer.json()["message"]
    assert ack["ack_status"] == "ACK"
    receiver.statuses = [503]  # the partner is down once: retried, under the same id
    await dci_jobs.deliver_due(ctx)
    await ctx["session_maker"]().execute(
        text("UPDATE registry.dci_deliveries SET next_attempt_at = now()")
    )
    await dci_jobs.deliver_due(ctx)
    first, second = receiver.requests
    assert (
        json.loads(first.body)["header"]["message_id"]
        == json.loads(second.body)["header"]["message_id"]
    )
    callback = dci_kit.verified(second.body, await jwks(api), api.settings.dci_sender_id)
    dci_kit.validate(SOCIAL, "/registry/on-search", callback)
    assert callback["header"]["action"] == "on-search"
    assert callback["message"]["correlation_id"] == ack["correlation_id"]
    (record,) = callback["message"]["search_response"][0]["data"]["reg_records"]
    assert record["group_identifier"][0]["identifier_value"] == "A-1"
    # A sender_uri no webhook could target is refused at once.
    bad = partner.envelope("search", body["message"], sender_uri="http://10.0.0.1/cb")
    answer = await partner.post("/dci/registry/search", bad)
    assert answer.json()["message"]["error"]["code"] == "err.sender_uri.invalid"


def subscribe_message(*criteria: dict[str, Any]) -> dict[str, Any]:
    return {
        "transaction_id": "S-1",
        "subscribe_request": [
            {"reference_id": f"S-{i}", "timestamp": dci_kit.now(), "subscribe_criteria": c}
            for i, c in enumerate(criteria, 1)
        ],
    }


def criteria(event: str, filter_: Any, **extra: Any) -> dict[str, Any]:
    return {
        "reg_event_type": event,
        "filter_type": "predicate",
        "filter": filter_,
        "notify_record_type": "spdci:Group",
        **extra,
    }


def region(code: str) -> list[dict[str, Any]]:
    return [
        {
            "expression1": {
                "attribute_name": "region_code",
                "operator": "eq",
                "attribute_value": code,
            }
        }
    ]


async def tick(ctx: dict[str, Any]) -> None:
    """What the worker runs every five seconds."""
    await dci_jobs.dci_tick(ctx)


async def test_subscribe_notify_in_commit_order_then_unsubscribe(
    api: ApiClient, ctx: dict[str, Any], receiver: Receiver, villages: list[str]
) -> None:
    partner = await register(api)
    end = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    in_a_month = {
        "start_time": dci_kit.now(),
        "end_time": end.isoformat(),
        "frequency": "0 0 * * *",
    }
    message = subscribe_message(
        criteria("REGISTER", region(VILLAGE_A), frequency=in_a_month),
        criteria("CategoryChanged", []),
        criteria("NewHouseHoldMember", []),
        criteria("HouseHoldMemberDeparted", []),
        criteria("UPDATE", {"type": "HOUSEHOLD_ID", "value": "N-1"}, filter_type="idtype-value"),
        criteria("LiveBirth", []),
        criteria("REGISTER", region("530000000000")),
    )
    body = partner.envelope("subscribe", message, total=7, sender_uri=receiver.url)
    dci_kit.validate(CORE, "/registry/subscribe", body)
    answer = await partner.post("/dci/registry/subscribe", body)
    assert answer.status_code == 200, answer.text
    dci_kit.validate(CORE, "/registry/subscribe", answer.json(), "default")
    await tick(ctx)
    keys = await jwks(api)
    on_subscribe = dci_kit.verified(receiver.requests[0].body, keys, api.settings.dci_sender_id)
    dci_kit.validate(CORE, "/registry/on-subscribe", on_subscribe)
    items = on_subscribe["message"]["subscribe_response"]
    assert [i["status"] for i in items] == ["succ"] * 5 + ["rjct"] * 2
    assert [i.get("status_reason_code") for i in items[5:]] == [
        "rjct.notify_types.invalid",
        "rjct.notify_details.invalid",
    ]
    codes = [i["subscriptions"][0]["code"] for i in items[:5]]
    assert items[0]["subscriptions"][0]["expires_at"].startswith(end.isoformat()[:19])
    assert items[1]["subscriptions"][0]["expires_at"] > end.isoformat()  # a year by default
    # The same subscription again is refused.
    again = partner.envelope(
        "subscribe", subscribe_message(criteria("CategoryChanged", [])), sender_uri=receiver.url
    )
    await partner.post("/dci/registry/subscribe", again)
    await tick(ctx)
    repeat = json.loads(receiver.requests[1].body)["message"]["subscribe_response"][0]
    assert repeat["status_reason_code"] == "rjct.event.already_subscribed"
    receiver.requests.clear()

    admin = api.as_(Role.province_admin, ADMIN_REGION)
    created = await seed(api, "N-1")
    await seed(
        api, "N-OUT", PUAN_VILLAGE, members=[member("head", id_number=id_number(area="522323"))]
    )
    changed = await admin.put(
        f"/v1/households/{created['id']}/category",
        json={"category": "monitored", "reason": "因病返贫风险"},
    )
    assert changed.status_code == 200, changed.text
    added = await admin.post(
        f"/v1/households/{created['id']}/members",
        json=member("child", name="王小华", id_number=id_number(date(2010, 1, 2))),
    )
    assert added.status_code == 201, added.text
    departed = await admin.delete(
        f"/v1/members/{added.json()['id']}",
        params={"reason": "moved", "departed_on": str(date.today())},
    )
    assert departed.status_code == 200, departed.text
    receiver.statuses = [500]  # the first notification fails: the rest wait behind it
    await tick(ctx)
    assert len(receiver.requests) == 1
    await ctx["session_maker"]().execute(
        text("UPDATE registry.dci_deliveries SET next_attempt_at = now()")
    )
    await tick(ctx)
    notes = [dci_kit.verified(r.body, keys, api.settings.dci_sender_id) for r in receiver.requests]
    for note in notes:
        dci_kit.validate(CORE, "/registry/notify", note)
    events = [n["message"]["notify_event"][0] for n in notes]
    kinds = [e["data"]["reg_event_type"] for e in events]
    assert kinds[0] == kinds[1] == "REGISTER"  # failed once, then again under the same id
    assert notes[0]["header"]["message_id"] == notes[1]["header"]["message_id"]
    # (its first members came with the registration: no NewHouseHoldMember for them)
    assert kinds[2:] == [
        "CategoryChanged",
        "UPDATE",
        "NewHouseHoldMember",
        "HouseHoldMemberDeparted",
    ]
    numbers = {e["data"]["reg_records"]["group_identifier"][0]["identifier_value"] for e in events}
    assert numbers == {"N-1"}  # N-OUT is outside the client's region
    record = events[-1]["data"]["reg_records"]
    assert "王" not in json.dumps(record, ensure_ascii=False)  # a department sees no names

    receiver.requests.clear()
    bye = {"transaction_id": "U-1", "timestamp": dci_kit.now(), "subscription_codes": codes}
    body = partner.envelope("unsubscribe", bye, sender_uri=receiver.url)
    dci_kit.validate(CORE, "/registry/unsubscribe", body)
    answer = await partner.post("/dci/registry/unsubscribe", body)
    dci_kit.validate(CORE, "/registry/unsubscribe", answer.json(), "default")
    await seed(api, "N-2")
    await tick(ctx)
    (only,) = receiver.requests  # no more notifications
    on_unsubscribe = dci_kit.verified(only.body, keys, api.settings.dci_sender_id)
    dci_kit.validate(CORE, "/registry/on-unsubscribe", on_unsubscribe)
    assert on_unsubscribe["message"]["status"] == "succ"
    assert {s["status"] for s in on_unsubscribe["message"]["subscription_status"]} == {
        "unsubscribe"
    }


async def test_notifications_follow_commit_order_not_transaction_ids(
    api: ApiClient, ctx: dict[str, Any], receiver: Receiver, villages: list[str]
) -> None:
    """A registration whose transaction began first but committed last (here: its entry
    given the next position, as a later commit step would) is notified after the other, in
    commit order, as the change feed lists them."""
    partner = await register(api)
    message = subscribe_message(criteria("REGISTER", region(VILLAGE_A)))
    await partner.post(
        "/dci/registry/subscribe", partner.envelope("subscribe", message, sender_uri=receiver.url)
    )
    await tick(ctx)
    receiver.requests.clear()
    first = await seed(api, "C-1")
    await seed(api, "C-2")
    session = ctx["session_maker"]()
    # The change log refuses to change a numbered entry: the test goes past its trigger.
    await session.execute(text("SET LOCAL session_replication_role = replica"))
    await session.execute(
        text(
            "UPDATE registry.change_log SET position = "
            "nextval('registry.change_log_position_seq') "
            "WHERE entity = 'household' AND op = 'create' AND entity_id = :first"
        ).bindparams(first=first["id"])
    )
    await session.execute(text("SET LOCAL session_replication_role = origin"))
    await tick(ctx)
    keys = await jwks(api)
    notes = [dci_kit.verified(r.body, keys, api.settings.dci_sender_id) for r in receiver.requests]
    numbers = [
        n["message"]["notify_event"][0]["data"]["reg_records"]["group_identifier"][0][
            "identifier_value"
        ]
        for n in notes
    ]
    assert numbers == ["C-2", "C-1"]


async def test_txn_status_sync_and_async(
    api: ApiClient, ctx: dict[str, Any], receiver: Receiver, villages: list[str]
) -> None:
    await seed(api, "T-1")
    partner = await register(api)
    searched = await sync_search(partner, api, by_id("HOUSEHOLD_ID", "T-1"), by_id("UIN", "bad"))
    correlation_id = searched["message"]["correlation_id"]

    async def status(
        attribute: str, value: Any, path: str = "/dci/registry/sync/txn/status", **header: Any
    ) -> Any:
        message = {
            "transaction_id": "Q-1",
            "txnstatus_request": {
                "reference_id": "Q-R",
                "txn_type": "search",
                "attribute_type": attribute,
                "attribute_value": value,
            },
        }
        body = partner.envelope("txn-status", message, **header)
        dci_kit.validate(CORE, path.removeprefix("/dci"), body)
        return await partner.post(path, body)

    for attribute, value in (
        ("transaction_id", "T-1"),
        ("correlation_id", correlation_id),
        ("reference_id_list", ["R-2"]),
    ):
        answer = await status(attribute, value)
        assert answer.status_code == 200, answer.text
        dci_kit.validate(CORE, "/registry/sync/txn/status", answer.json(), "default")
        found = dci_kit.verified(answer.json(), await jwks(api), api.settings.dci_sender_id)
        txn = found["message"]["txnstatus_response"]
        assert txn["txn_type"] == "on-search"
        assert [r["status"] for r in txn["txn_status"]["search_response"]] == ["succ", "rjct"]
        assert "data" not in txn["txn_status"]["search_response"][0]  # no records kept
    missing = await status("transaction_id", "nope")
    assert missing.status_code == 404
    assert missing.json()["message"]["error"]["code"] == "err.request.not_found"
    stranger = await register(api)
    foreign = stranger.envelope(
        "txn-status",
        {
            "transaction_id": "Q",
            "txnstatus_request": {
                "reference_id": "r",
                "txn_type": "search",
                "attribute_type": "transaction_id",
                "attribute_value": "T-1",
            },
        },
    )
    assert (await stranger.post("/dci/registry/sync/txn/status", foreign)).status_code == 404

    answer = await status(
        "transaction_id", "T-1", "/dci/registry/txn/status", sender_uri=receiver.url
    )
    assert answer.json()["message"]["ack_status"] == "ACK"
    await dci_jobs.deliver_due(ctx)
    callback = dci_kit.verified(
        receiver.requests[0].body, await jwks(api), api.settings.dci_sender_id
    )
    dci_kit.validate(CORE, "/registry/txn/on-status", callback)
    assert callback["header"]["action"] == "txn-on-status"


async def test_every_call_is_audited_and_transactions_are_kept_thirty_days(
    api: ApiClient, ctx: dict[str, Any], session: Any, villages: list[str]
) -> None:
    partner = await register(api)
    await sync_search(partner, api, by_id("HOUSEHOLD_ID", "none"))
    rows = (
        await session.execute(
            text(
                "SELECT action, actor, client_id, op FROM registry.change_log WHERE entity = 'dci_transaction'"
            )
        )
    ).all()
    assert [(r.action, r.client_id, r.op) for r in rows] == [
        ("dci_search", partner.client_id, None)
    ]
    await session.execute(
        text("UPDATE registry.dci_transactions SET created_at = now() - interval '31 days'")
    )
    purged = await dci_jobs.dci_purge(ctx)
    assert purged["transactions"] == 1


async def test_the_token_path_takes_only_client_credentials(api: ApiClient) -> None:
    answer = await api.post(
        "/dci/oauth2/client/token",
        data={"grant_type": "password", "client_id": "x", "client_secret": "y"},
    )
    assert answer.status_code == 400
    answer = await api.post(
        "/dci/oauth2/client/token",
        data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
    )
    assert answer.status_code == 401


def test_the_vendored_standard_resolves_every_reference() -> None:
    """The three $refs of the social YAML that led nowhere now resolve, as does every other."""
    for name in (SOCIAL, CORE):
        document = dci_kit.spec_of(name)
        resolver = Registry().with_resource("", DRAFT4.create_resource(document)).resolver("")
        refs = set(_refs(document))
        assert refs
        for ref in refs:
            resolver.lookup(ref)  # raises for a pointer that leads nowhere


def _refs(node: Any) -> Any:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_signatures_follow_openspps_format() -> None:
    key = signing.key_from_private(Ed25519PrivateKey.generate(), "sender-1")
    header, message = {"action": "search", "名": "值"}, {"b": 1, "a": [1, 2]}
    value = key.sign(header, message, now=1_700_000_000)
    assert value.startswith('namespace="dci", kidId="sender-1|')
    assert f'kidId="sender-1|{key.kid}|ed25519"' in value
    assert (
        'created="1700000000", expires="1700000300", headers="(created) (expires) digest"' in value
    )
    jwk = key.jwk()
    assert (
        signing.verify(
            "Signature: " + value.replace('"dci"', '"spdci"'),
            header,
            message,
            [jwk],
            "sender-1",
            now=1_700_000_100,
        )
        == key.kid
    )
    with pytest.raises(signing.SignatureError):
        signing.verify(value, header, message, [jwk], "sender-1", now=1_700_000_301)
    assert (
        signing.digest(header, message)
        == __import__("base64")
        .b64encode(
            __import__("hashlib")
            .sha256(
                json.dumps(
                    {"header": header, "message": message}, sort_keys=True, separators=(",", ":")
                ).encode()
            )
            .digest()
        )
        .decode()
    )
    assert timedelta(seconds=signing.EXPIRES_S) == timedelta(minutes=5)
