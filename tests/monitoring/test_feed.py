"""Monitoring's change feed: alerts as ``GET /v1/alerts`` shows them, in commit order, and the
webhooks carry the same state."""

from typing import Any

from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI
from tests.monitoring.test_scans import _scan


async def _replica(client: Any) -> dict[str, dict[str, Any]]:
    replica: dict[str, dict[str, Any]] = {}
    after = "0"
    while True:
        page = (await client.get("/v1/changes", params={"after": after, "limit": 2})).json()
        for event in page["items"]:
            replica[event["entity_id"]] = event["data"]
        if not page["items"]:
            return replica
        after = page["next_cursor"]


async def test_a_replica_of_alerts_from_the_feed_equals_get(
    monitoring: Any, feed: Any, job_ctx: dict[str, Any]
) -> None:
    reader = monitoring.as_(Role.county_officer, XINGYI)
    before = (await reader.get("/v1/changes/position")).json()["position"]
    below = await feed.household(VILLAGE_A, income={2021: "5200.00"})
    assert (await _scan(monitoring, job_ctx))["alerts_raised"] == 1
    await feed.apply(feed.economics(below["id"], VILLAGE_A, 2021, "5100.00"))
    await _scan(monitoring, job_ctx, mode="incremental")  # new figures: alert.updated
    await feed.apply(feed.economics(below["id"], VILLAGE_A, 2021, "6100.00"))
    assert (await _scan(monitoring, job_ctx, mode="incremental"))["alerts_closed"] == 1

    page = (await reader.get("/v1/changes", params={"after": before})).json()
    assert [(e["entity"], e["op"]) for e in page["items"]] == [
        ("alert", "raised"),
        ("alert", "updated"),
        ("alert", "closed"),
    ]
    assert [e["data"]["version"] for e in page["items"]] == [1, 2, 3]
    replica = await _replica(reader)
    alerts = (await reader.get("/v1/alerts", params={"status": "closed"})).json()["items"]
    assert alerts
    assert all(replica[a["id"]] == a for a in alerts)  # field for field
    # The position is the last event's cursor; a stranger's cursor is refused.
    position = (await reader.get("/v1/changes/position")).json()["position"]
    assert position == page["next_cursor"]
    refused = await reader.get("/v1/changes", params={"after": "bm90LWEtY3Vyc29y"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "cursor.invalid"
    # A village cadre reads no feed (as the registry's).
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    assert (await cadre.get("/v1/changes")).status_code == 403


async def test_a_replica_of_cases_from_the_feed_equals_get(monitoring: Any, feed: Any) -> None:
    reader = monitoring.as_(Role.county_officer, XINGYI)
    before = (await reader.get("/v1/changes/position")).json()["position"]
    household = await feed.household(VILLAGE_A, income={2021: "5000.00"})
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    opened = await cadre.post(
        "/v1/cases", json={"household_id": str(household["id"]), "channel": "cadre"}
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    verified = await cadre.post(
        f"/v1/cases/{case_id}/actions", json={"action": "verify", "note": "王大山家, 入户核实"}
    )
    assert verified.status_code == 200, verified.text

    page = (await reader.get("/v1/changes", params={"after": before})).json()
    steps = [(e["op"], e["data"]["stage"], e["data"]["version"]) for e in page["items"]]
    assert [s[0] for s in steps] == ["opened", "verified"]
    assert steps[0][2] < steps[1][2]  # versions increase along the feed
    listed = (await reader.get("/v1/cases")).json()["items"]
    [case] = [c for c in listed if c["id"] == case_id]
    assert page["items"][-1]["data"] == case  # as GET /v1/cases lists it, field for field
    assert "入户核实" not in str(page["items"])  # notes (free text) stay out
