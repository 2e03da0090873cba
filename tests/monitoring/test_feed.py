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


POLICY = {
    "monitoring_line": "6500.00",
    "income_drop_ratio": 0.3,
    "rigid_expense_ratio": 0.5,
    "medical_expense_threshold": "5000.00",
    "medical_expense_threshold_other": "20000.00",
    "notice_days": 5,
    "identification_deadline_days": 15,
    "min_months_before_elimination": 6,
    "rules": {"labour_loss": False},
}


async def test_a_replica_of_policies_from_the_feed_equals_get(monitoring: Any) -> None:
    admin = monitoring.as_(Role.province_admin, "520000000000", sub="province-admin-1")
    before = (await admin.get("/v1/changes/position")).json()["position"]
    province = await admin.put("/v1/policy/2024?region=520000000000", json=POLICY)
    assert province.status_code == 201, province.text
    path = f"/v1/policy/2024?region={XINGYI}"
    officer = monitoring.as_(Role.county_officer, XINGYI, sub="xingyi-officer")
    assert (await officer.put(path, json={**POLICY, "monitoring_line": "7500"})).status_code == 201
    tighter = {**POLICY, "monitoring_line": "7000"}
    assert (await officer.put(path, json=tighter)).status_code == 200  # supersedes the first
    looser = {**POLICY, "monitoring_line": "6000"}
    asked = await officer.put(path, json=looser)
    assert asked.status_code == 202, asked.text
    approved = await admin.post(f"/v1/policies/{asked.json()['id']}/approve")
    assert approved.status_code == 200, approved.text

    page = (await admin.get("/v1/changes", params={"after": before})).json()
    assert [(e["entity"], e["op"]) for e in page["items"]] == [
        ("policy", "created"),  # the province's
        ("policy", "created"),
        ("policy", "superseded"),
        ("policy", "created"),
        ("policy", "requested"),
        ("policy", "superseded"),
        ("policy", "approved"),
    ]
    replica: dict[str, dict[str, Any]] = {}
    for event in page["items"]:  # applied in order: each record's versions only increase
        known = replica.get(event["entity_id"])
        assert known is None or event["data"]["version"] > known["version"]
        replica[event["entity_id"]] = event["data"]
    listed = (await admin.get("/v1/policies", params={"year": 2024})).json()["items"]
    assert len(listed) == 4
    assert all(replica[p["id"]] == p for p in listed)  # field for field


async def test_cases_the_hourly_job_escalates_are_in_the_feed_as_get_shows_them(
    monitoring: Any, feed: Any, job_ctx: dict[str, Any], session: Any
) -> None:
    from sqlalchemy import text

    from services.monitoring.cases import jobs as case_jobs

    reader = monitoring.as_(Role.county_officer, XINGYI)
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    ids = []
    for _ in range(2):
        household = await feed.household(VILLAGE_A)
        opened = await cadre.post(
            "/v1/cases", json={"household_id": str(household["id"]), "channel": "cadre"}
        )
        assert opened.status_code == 201, opened.text
        ids.append(opened.json()["id"])
    before = (await reader.get("/v1/changes/position")).json()["position"]
    await session.execute(
        text("UPDATE monitoring.cases SET due_at = now() - interval '1 hour' WHERE id = ANY(:c)"),
        {"c": ids},
    )
    await session.commit()
    assert await case_jobs.mark_overdue_cases(job_ctx) == 2

    page = (await reader.get("/v1/changes", params={"after": before})).json()
    assert sorted((e["entity_id"], e["op"]) for e in page["items"]) == sorted(
        (i, "escalated") for i in ids
    )
    listed = {c["id"]: c for c in (await reader.get("/v1/cases")).json()["items"]}
    for event in page["items"]:
        case = listed[event["entity_id"]]
        assert case["overdue"] is True
        assert event["data"] == case  # field for field, its version one more


async def test_a_replica_of_signals_from_the_feed_equals_get_masked_per_role(
    monitoring: Any, feed: Any
) -> None:
    from datetime import date, timedelta

    from shared import clock, idnumber

    dept = monitoring.as_(Role.department, XINGYI)
    officer = monitoring.as_(Role.county_officer, XINGYI)
    before = (await officer.get("/v1/changes/position")).json()["position"]
    known = await feed.household(VILLAGE_A, members=1)
    # A person not yet in the projection: their signal matches once they appear.
    later = idnumber.make(VILLAGE_A, date(1980, 1, 1), 123)
    recent = (clock.today() - timedelta(days=10)).isoformat()
    base = {"source": "civil_affairs", "kind": "death_of_worker", "occurred_on": recent}
    items = [
        {**base, "external_ref": "s-1", "id_number": known["id_numbers"][0]},
        {**base, "external_ref": "s-2", "id_number": later},
    ]
    answer = await dept.post("/v1/signals", json={"items": items})
    assert answer.status_code == 200, answer.text
    await feed.household(VILLAGE_A, members=1, sequence=123)

    page = (await officer.get("/v1/changes", params={"after": before})).json()
    signals = [e for e in page["items"] if e["entity"] == "signal"]
    assert sorted(e["op"] for e in signals) == ["matched", "received", "received"]
    for reader in (officer, dept):  # the county sees numbers whole, a department masked
        replica = await _replica(reader)
        listed = (await reader.get("/v1/signals")).json()["items"]
        assert len(listed) == 2
        assert all(s["household_id"] for s in listed)  # both matched by now
        assert all(replica[s["id"]] == s for s in listed)  # field for field
    one = await officer.get(f"/v1/signals/{listed[0]['id']}")
    assert one.status_code == 200
    assert one.headers["ETag"] == f'W/"{one.json()["version"]}"'  # grows as alerts link it
    masked = {s["id_number"] for s in (await dept.get("/v1/signals")).json()["items"]}
    assert later not in masked
    assert idnumber.mask(later) in masked


async def test_a_signal_an_alert_lists_later_is_in_the_feed_with_its_alert_ids(
    monitoring: Any, feed: Any, job_ctx: dict[str, Any]
) -> None:
    from datetime import timedelta

    from shared import clock

    dept = monitoring.as_(Role.department, XINGYI)
    officer = monitoring.as_(Role.county_officer, XINGYI)
    before = (await officer.get("/v1/changes/position")).json()["position"]
    household = await feed.household(VILLAGE_A, members=2, income={2021: "9000.00"})
    recent = (clock.today() - timedelta(days=3)).isoformat()
    shocks = [
        {"source": "housing", "kind": "dangerous_housing", "external_ref": "h-1"},
        {"source": "emergency", "kind": "accident", "external_ref": "e-1"},
    ]
    for shock, number in zip(shocks, household["id_numbers"], strict=True):
        item = {**shock, "id_number": number, "occurred_on": recent}
        assert (await dept.post("/v1/signals", json={"items": [item]})).status_code == 200
        await _scan(monitoring, job_ctx, mode="incremental")  # raises, then refreshes the alert

    page = (await officer.get("/v1/changes", params={"after": before})).json()
    steps: dict[str, list[tuple[str, int]]] = {}
    for e in page["items"]:
        steps.setdefault(e["entity"], []).append((e["op"], e["data"]["version"]))
    assert steps["alert"] == [("raised", 1), ("updated", 2)]
    # Each signal: received, then linked once an alert lists it (h-1's alert_ids did not
    # change when the alert was refreshed with e-1: no event for it then).
    assert sorted(steps["signal"]) == [
        ("linked", 2),
        ("linked", 2),
        ("received", 1),
        ("received", 1),
    ]
    for reader in (officer, dept):
        replica = await _replica(reader)
        signals = (await reader.get("/v1/signals")).json()["items"]
        assert [len(s["alert_ids"]) for s in signals] == [1, 1]
        assert all(replica[s["id"]] == s for s in signals)  # field for field
        alerts = (await reader.get("/v1/alerts")).json()["items"]
        assert all(replica[a["id"]] == a for a in alerts)
