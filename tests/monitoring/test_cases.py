"""The case procedure: the state machine of domain.md section 3, who may act, the registry
effects of deciding and eliminating, elimination conditions, deadlines and escalation."""

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import text

from services.monitoring.cases import jobs as case_jobs
from shared import clock
from shared.auth import Role
from tests.conftest import PUAN, VILLAGE_A, XINGYI, XINGYI_TOWNSHIP
from tests.monitoring.conftest import let_notice_run

PROVINCE = "520000000000"


class FakeRegistry:
    """Stands in for the registry's category and measure endpoints; records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, UUID, dict[str, Any], str | None]] = []
        self.keys: set[str | None] = set()

    async def set_category(
        self, household_id: UUID, change: Any, *, token: str | None = None
    ) -> httpx.Response:
        self.calls.append(("category", household_id, change.model_dump(mode="json"), token))
        return httpx.Response(200, json={"id": str(household_id), "category": change.category})

    async def add_measure(
        self,
        household_id: UUID,
        measure: Any,
        *,
        token: str | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        # Each measure of a case is its own write to the registry.
        assert idempotency_key not in self.keys
        self.keys.add(idempotency_key)
        self.calls.append(("measure", household_id, measure.model_dump(mode="json"), token))
        return httpx.Response(201, json={"id": str(uuid4())})


@pytest.fixture
def fake_registry(monitoring) -> FakeRegistry:
    fake = FakeRegistry()
    monitoring.app.state.registry_client = fake
    return fake


def _who(monitoring: Any) -> dict[str, Any]:
    return {
        "village": monitoring.as_(Role.village_cadre, VILLAGE_A),
        "township": monitoring.as_(Role.township_officer, XINGYI_TOWNSHIP),
        "county": monitoring.as_(Role.county_officer, XINGYI),
    }


async def _do(client: Any, case_id: str, status: int = 200, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/v1/cases/{case_id}/actions", json=body)
    assert response.status_code == status, response.text
    return response.json()


async def _reviewed_by_the_village(who: dict[str, Any], household_id: UUID) -> str:
    """A case opened by the village cadre, verified and passed by the village review."""
    opened = await who["village"].post(
        "/v1/cases", json={"household_id": str(household_id), "channel": "cadre"}
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    await _do(who["village"], case_id, action="verify")
    await _do(who["village"], case_id, action="village_review", result="pass")
    return case_id


async def _to_monitored(monitoring: Any, session: Any, household_id: UUID) -> str:
    who = _who(monitoring)
    opened = await who["village"].post(
        "/v1/cases", json={"household_id": str(household_id), "channel": "cadre"}
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    await _do(
        who["village"],
        case_id,
        action="verify",
        note="入户核实, 签署承诺书",
        evidence=["visit.jpg"],
    )
    await _do(who["village"], case_id, action="village_review", result="pass", attendees=23)
    today = clock.today()
    await _do(
        who["village"],
        case_id,
        action="publish_notice",
        starts_on=str(today),
        ends_on=str(today + timedelta(days=6)),
    )
    await let_notice_run(session, case_id)
    await _do(who["village"], case_id, action="close_notice", objections=[])
    await _do(who["township"], case_id, action="township_review", result="pass")
    decided = await _do(
        who["county"], case_id, action="county_decide", monitored_type=3, risk_types=["01", "0201"]
    )
    assert decided["stage"] == "monitored"
    return case_id


async def test_the_procedure_from_discovery_to_elimination(
    monitoring, feed, fake_registry, job_ctx, session
) -> None:
    h = await feed.household(
        VILLAGE_A, income={2021: "5000.00"}, guarantees={"housing_safety": True}
    )
    case_id = await _to_monitored(monitoring, session, h["id"])
    who = _who(monitoring)
    # The county decision made the household 监测户 in the registry, as the county officer.
    kind, household_id, change, token = fake_registry.calls[0]
    assert (kind, household_id, change["category"]) == ("category", h["id"], "monitored")
    assert token is not None
    case = (await who["county"].get(f"/v1/cases/{case_id}")).json()
    assert case["monitored_type"] == 3
    assert case["risk_types"] == ["01", "0201"]
    assert [e["action"] for e in case["timeline"]] == [
        "open",
        "verify",
        "village_review",
        "publish_notice",
        "close_notice",
        "township_review",
        "county_decide",
    ]
    assert case["timeline"][1]["evidence"] == ["visit.jpg"]
    assert case["allowed_actions"] == ["add_measure", "follow_up", "propose_elimination"]

    # A month's clock for the first development-type measure; a safety net does not stop it.
    assert case["due_at"] is not None
    health = {"kind": "health", "start": str(clock.today()), "description": "医疗救助"}
    after_health = await _do(who["village"], case_id, action="add_measure", measure=health)
    assert after_health["due_at"] == case["due_at"]
    measure = {"kind": "employment", "start": str(clock.today()), "description": "公益岗位"}
    measured = await _do(who["village"], case_id, action="add_measure", measure=measure)
    assert measured["timeline"][-1]["action"] == "add_measure"
    assert measured["timeline"][-1]["details"]["registry_measure_id"]
    assert measured["due_at"] is None
    assert fake_registry.calls[2][0] == "measure"
    assert fake_registry.calls[2][2]["case_id"] == case_id
    await _do(who["village"], case_id, action="follow_up", note="回访")
    today = clock.today()
    await _do(
        who["village"],
        case_id,
        action="propose_elimination",
        result="pass",
        starts_on=str(today),
        ends_on=str(today + timedelta(days=6)),
    )
    await let_notice_run(session, case_id)

    refused = await who["county"].post(
        f"/v1/cases/{case_id}/actions", json={"action": "eliminate", "method": "help"}
    )
    assert refused.status_code == 409
    unmet = refused.json()["unmet_conditions"]
    assert any("6 months" in u for u in unmet)
    assert any("no help measure" in u for u in unmet)
    assert any("not above the monitoring line" in u for u in unmet)

    # The measure arrives through the feed, income rises, six months pass.
    await feed.apply(
        feed.event(
            "measure",
            {
                "id": uuid4(),
                "household_id": h["id"],
                "region_code": VILLAGE_A,
                "kind": "employment",
                "start": str(today),
                "end": None,
                "amount": None,
                "project_id": None,
                "responsible_cadre_id": None,
                "case_id": case_id,
            },
        ),
        feed.economics(h["id"], VILLAGE_A, 2022, "8000.00"),
    )
    await session.execute(
        text(
            "UPDATE monitoring.cases SET monitored_since = monitored_since - interval '7 months' WHERE id = :c"
        ),
        {"c": case_id},
    )
    await session.commit()
    done = await _do(who["county"], case_id, action="eliminate", method="help")
    assert done["stage"] == "eliminated"
    assert done["allowed_actions"] == ["rollback"]
    assert fake_registry.calls[-1][2]["category"] == "poverty_alleviated"


async def test_elimination_waits_for_its_notice_and_hears_objections(
    monitoring, feed, fake_registry, session
) -> None:
    h = await feed.household(VILLAGE_A, income={2021: "5000.00"})
    case_id = await _to_monitored(monitoring, session, h["id"])
    who = _who(monitoring)
    today, ends_on = clock.today(), clock.today() + timedelta(days=6)
    proposed = await _do(
        who["village"],
        case_id,
        action="propose_elimination",
        result="pass",
        starts_on=str(today),
        ends_on=str(ends_on),
    )
    assert proposed["elimination_notice_starts_on"] == str(today)
    assert proposed["elimination_notice_ends_on"] == str(ends_on)

    # Not while the village can still object: 409 naming the notice's last day.
    early = await who["county"].post(
        f"/v1/cases/{case_id}/actions", json={"action": "eliminate", "method": "help"}
    )
    assert early.status_code == 409, early.text
    assert early.headers["content-type"].startswith("application/problem+json")
    assert str(ends_on) in early.json()["detail"]
    assert early.json()["notice_ends_on"] == str(ends_on)

    # After the notice, an upheld objection keeps the household monitored.
    await let_notice_run(session, case_id)
    objection = {"content": "家中仍无稳定收入", "upheld": True}
    kept = await _do(
        who["county"], case_id, action="eliminate", method="help", objections=[objection]
    )
    assert kept["stage"] == "monitored"
    assert kept["elimination_method"] is None
    assert kept["timeline"][-1]["details"]["objections"] == [objection]
    assert [c[2]["category"] for c in fake_registry.calls if c[0] == "category"] == ["monitored"]

    # keep_monitoring records the objections heard as well.
    await _do(
        who["village"],
        case_id,
        action="propose_elimination",
        result="pass",
        starts_on=str(today),
        ends_on=str(ends_on),
    )
    await let_notice_run(session, case_id)
    heard = {"content": "邻居反映已外出务工", "upheld": False}
    again = await _do(who["county"], case_id, action="keep_monitoring", objections=[heard])
    assert again["stage"] == "monitored"
    assert again["timeline"][-1]["details"]["objections"] == [heard]


async def test_a_policy_relaxed_later_does_not_relax_a_case_opened_before(
    monitoring, feed, fake_registry, session
) -> None:
    h = await feed.household(VILLAGE_A, income={2021: "9000.00"})
    case_id = await _to_monitored(monitoring, session, h["id"])
    who = _who(monitoring)
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    shipped = (await admin.get("/v1/policy/2021")).json()
    relaxed = {k: shipped[k] for k in ("monitoring_line", "rules")}
    put = await admin.put(
        f"/v1/policy/2021?region={PROVINCE}", json={**relaxed, "min_months_before_elimination": 0}
    )
    assert put.status_code == 200, put.text
    today = clock.today()
    await _do(
        who["village"],
        case_id,
        action="propose_elimination",
        result="pass",
        starts_on=str(today),
        ends_on=str(today + timedelta(days=6)),
    )
    await let_notice_run(session, case_id)
    refused = await who["county"].post(
        f"/v1/cases/{case_id}/actions", json={"action": "eliminate", "method": "help"}
    )
    assert refused.status_code == 409, refused.text
    # Opened under six months, judged under six months.
    assert any("less than 6 months" in c for c in refused.json()["unmet_conditions"])


async def test_wrong_role_wrong_stage_and_outside_region(monitoring, feed, fake_registry) -> None:
    h = await feed.household(VILLAGE_A)
    who = _who(monitoring)
    case_id = (
        await who["village"].post(
            "/v1/cases", json={"household_id": str(h["id"]), "channel": "scan"}
        )
    ).json()["id"]
    # A township officer may not verify.
    assert (
        await who["township"].post(f"/v1/cases/{case_id}/actions", json={"action": "verify"})
    ).status_code == 403
    # The village cadre may not decide for the county.
    assert (
        await who["village"].post(
            f"/v1/cases/{case_id}/actions",
            json={"action": "county_decide", "monitored_type": 1, "risk_types": ["01"]},
        )
    ).status_code == 403
    # A notice before the review: 409 naming what the stage allows.
    wrong = await who["village"].post(
        f"/v1/cases/{case_id}/actions",
        json={"action": "publish_notice", "starts_on": "2021-01-01", "ends_on": "2021-01-10"},
    )
    assert wrong.status_code == 409
    assert wrong.json()["allowed_actions"] == ["reject", "verify"]
    # Another county sees nothing.
    other = monitoring.as_(Role.county_officer, PUAN)
    assert (await other.get(f"/v1/cases/{case_id}")).status_code == 404
    assert (
        await other.post(f"/v1/cases/{case_id}/actions", json={"action": "verify"})
    ).status_code == 404
    # One open case per household.
    again = await who["village"].post(
        "/v1/cases", json={"household_id": str(h["id"]), "channel": "cadre"}
    )
    assert again.status_code == 409
    # A short notice is refused; an upheld objection sends the case back to verified.
    await _do(who["village"], case_id, action="verify")
    await _do(who["village"], case_id, action="village_review", result="pass")
    today = clock.today()
    short = await who["village"].post(
        f"/v1/cases/{case_id}/actions",
        json={
            "action": "publish_notice",
            "starts_on": str(today),
            "ends_on": str(today + timedelta(days=2)),
        },
    )
    assert short.status_code == 422
    await _do(
        who["village"],
        case_id,
        action="publish_notice",
        starts_on=str(today),
        ends_on=str(today + timedelta(days=5)),
    )
    early = await who["village"].post(
        f"/v1/cases/{case_id}/actions", json={"action": "close_notice"}
    )
    assert early.status_code == 409


async def test_upheld_objection_and_rejection(monitoring, feed, fake_registry, session) -> None:
    h = await feed.household(VILLAGE_A)
    who = _who(monitoring)
    case_id = await _reviewed_by_the_village(who, h["id"])
    today = clock.today()
    await _do(
        who["village"],
        case_id,
        action="publish_notice",
        starts_on=str(today),
        ends_on=str(today + timedelta(days=8)),
    )
    await let_notice_run(session, case_id)
    back = await _do(
        who["village"],
        case_id,
        action="close_notice",
        objections=[{"content": "家有轿车", "upheld": True}],
    )
    assert back["stage"] == "verified"
    rejected = await _do(
        who["village"], case_id, action="village_review", result="reject", note="民主评议未通过"
    )
    assert rejected["stage"] == "rejected"
    assert rejected["allowed_actions"] == []
    # A rejected case is closed: the household may get a new one.
    assert (
        await who["village"].post(
            "/v1/cases", json={"household_id": str(h["id"]), "channel": "cadre"}
        )
    ).status_code == 201


async def test_a_notice_starts_on_the_day_it_is_posted(
    monitoring, feed, fake_registry, session
) -> None:
    h = await feed.household(VILLAGE_A)
    who = _who(monitoring)
    case_id = await _reviewed_by_the_village(who, h["id"])
    # Posted today but dated last week, the notice would be over before anyone read it.
    today = clock.today()
    backdated = await who["village"].post(
        f"/v1/cases/{case_id}/actions",
        json={
            "action": "publish_notice",
            "starts_on": str(today - timedelta(days=7)),
            "ends_on": str(today - timedelta(days=1)),
        },
    )
    assert backdated.status_code == 422, backdated.text
    assert [e["field"] for e in backdated.json()["errors"]] == ["starts_on"]
    assert (await who["village"].get(f"/v1/cases/{case_id}")).json()["stage"] == "village_reviewed"

    # The same holds for the elimination notice.
    monitored = await _to_monitored(monitoring, session, (await feed.household(VILLAGE_A))["id"])
    backdated = await who["village"].post(
        f"/v1/cases/{monitored}/actions",
        json={
            "action": "propose_elimination",
            "result": "pass",
            "starts_on": str(today - timedelta(days=6)),
            "ends_on": str(today),
        },
    )
    assert backdated.status_code == 422, backdated.text
    assert [e["field"] for e in backdated.json()["errors"]] == ["starts_on"]


async def test_a_public_notice_refuses_id_and_phone_numbers(
    monitoring, feed, fake_registry, session
) -> None:
    h = await feed.household(VILLAGE_A)
    who = _who(monitoring)
    case_id = await _reviewed_by_the_village(who, h["id"])
    today = clock.today()
    period = {"starts_on": str(today), "ends_on": str(today + timedelta(days=6))}
    for field, text_ in (
        ("note", f"户主身份证 {h['id_numbers'][0]}"),
        ("note", "联系电话 13912345678"),
        ("note", "联系电话 １３９１２３４５６７８"),  # full-width, as a Chinese IME types it
        ("evidence", f"公示名单: {h['id_numbers'][1]}"),
    ):
        body: dict[str, Any] = {"action": "publish_notice", **period}
        body[field] = text_ if field == "note" else [text_]
        refused = await who["village"].post(f"/v1/cases/{case_id}/actions", json=body)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field]
    case = (await who["village"].get(f"/v1/cases/{case_id}")).json()
    assert case["stage"] == "village_reviewed"
    posted = await who["village"].post(
        f"/v1/cases/{case_id}/actions",
        json={"action": "publish_notice", "note": "拟纳入监测对象, 公示7天", **period},
    )
    assert posted.status_code == 200, posted.text

    # The elimination notice is posted the same way.
    monitored = await _to_monitored(monitoring, session, (await feed.household(VILLAGE_A))["id"])
    refused = await who["village"].post(
        f"/v1/cases/{monitored}/actions",
        json={
            "action": "propose_elimination",
            "result": "pass",
            "note": "户主手机 13800001111",
            **period,
        },
    )
    assert refused.status_code == 422, refused.text


async def test_overdue_cases_escalate_one_level_up(monitoring, feed, job_ctx, session) -> None:
    h = await feed.household(VILLAGE_A)
    who = _who(monitoring)
    case_id = (
        await who["village"].post(
            "/v1/cases", json={"household_id": str(h["id"]), "channel": "cadre"}
        )
    ).json()["id"]
    await session.execute(
        text("UPDATE monitoring.cases SET due_at = now() - interval '1 hour' WHERE id = :c"),
        {"c": case_id},
    )
    await session.commit()
    assert await case_jobs.mark_overdue_cases(job_ctx) == 1
    assert await case_jobs.mark_overdue_cases(job_ctx) == 0
    case = (await who["county"].get(f"/v1/cases/{case_id}")).json()
    assert case["overdue"] is True
    assert case["escalated_to"] == XINGYI_TOWNSHIP
    assert case["escalated_level"] == "township"
    assert case["timeline"][-1]["action"] == "escalate"
    overdue = (await who["county"].get("/v1/cases", params={"overdue": "true"})).json()["items"]
    assert [c["id"] for c in overdue] == [case_id]
    assert (await who["county"].get("/v1/cases", params={"stage": "monitored"})).json()[
        "items"
    ] == []


async def test_a_late_case_is_no_longer_overdue_once_its_clock_stops(
    monitoring, feed, fake_registry, job_ctx, session
) -> None:
    h = await feed.household(VILLAGE_A)
    case_id = await _to_monitored(monitoring, session, h["id"])
    who = _who(monitoring)
    # The month for a first development-type measure has passed: the case escalates.
    await session.execute(
        text("UPDATE monitoring.cases SET due_at = now() - interval '1 hour' WHERE id = :c"),
        {"c": case_id},
    )
    await session.commit()
    assert await case_jobs.mark_overdue_cases(job_ctx) == 1
    # A visit does not stop the clock: still overdue.
    visited = await _do(who["village"], case_id, action="follow_up", note="回访")
    assert (visited["overdue"], visited["escalated_level"]) == (True, "township")
    # The development measure does: nothing is due, nothing is late.
    measure = {"kind": "industry", "start": str(clock.today()), "description": "种植补贴"}
    measured = await _do(who["village"], case_id, action="add_measure", measure=measure)
    assert measured["due_at"] is None
    assert (measured["overdue"], measured["escalated_to"], measured["escalated_level"]) == (
        False,
        None,
        None,
    )
    overdue = (await who["county"].get("/v1/cases", params={"overdue": "true"})).json()["items"]
    assert overdue == []


async def test_a_case_from_a_scan_alert(monitoring, feed, job_ctx) -> None:
    h = await feed.household(VILLAGE_A, income={2021: "4000.00"})
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    scan_id = (await admin.post("/v1/scans", json={"region_code": XINGYI, "year": 2021})).json()[
        "scan_id"
    ]
    from services.monitoring.alerts import jobs as scan_jobs

    await scan_jobs.scan_county(job_ctx, scan_id, XINGYI)
    alert = (await admin.get("/v1/alerts", params={"rule": "income_below_line"})).json()["items"][0]
    county = monitoring.as_(Role.county_officer, XINGYI)
    opened = await county.post(
        "/v1/cases", json={"household_id": str(h["id"]), "channel": "scan", "alert_id": alert["id"]}
    )
    assert opened.status_code == 201, opened.text
    assert opened.json()["policy_year"] == 2021
    bad = await county.post("/v1/cases", json={"household_id": str(uuid4()), "channel": "scan"})
    assert bad.status_code == 404


async def test_stale_if_match_and_idempotent_retries(monitoring, feed, fake_registry) -> None:
    h = await feed.household(VILLAGE_A)
    who = _who(monitoring)
    body = {"household_id": str(h["id"]), "channel": "cadre"}
    first = await who["village"].post("/v1/cases", json=body, headers={"Idempotency-Key": "open-1"})
    replay = await who["village"].post(
        "/v1/cases", json=body, headers={"Idempotency-Key": "open-1"}
    )
    assert first.status_code == replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    case_id, version = first.json()["id"], first.json()["version"]
    ok = await who["village"].post(
        f"/v1/cases/{case_id}/actions",
        json={"action": "verify"},
        headers={"If-Match": str(version)},
    )
    assert ok.status_code == 200, ok.text
    stale = await who["village"].post(
        f"/v1/cases/{case_id}/actions",
        json={"action": "village_review", "result": "pass"},
        headers={"If-Match": str(version)},
    )
    assert stale.status_code == 412


async def test_an_eligibility_review_opens_no_case(monitoring, feed, job_ctx) -> None:
    h = await feed.household(VILLAGE_A, income={2021: "9000.00"})
    dept = monitoring.as_(Role.department, PROVINCE)
    signal = {
        "source": "public_security",
        "kind": "car",
        "id_number": h["id_numbers"][0],
        "occurred_on": str(clock.today()),
        "external_ref": "car-1",
    }
    assert (await dept.post("/v1/signals", json={"items": [signal]})).status_code == 200
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    scan_id = (await admin.post("/v1/scans", json={"region_code": XINGYI, "year": 2021})).json()[
        "scan_id"
    ]
    from services.monitoring.alerts import jobs as scan_jobs

    await scan_jobs.scan_county(job_ctx, scan_id, XINGYI)
    reviews = (await admin.get("/v1/alerts", params={"kind": "review"})).json()["items"]
    assert [r["rule"] for r in reviews] == ["eligibility_anomaly"]
    refused = await monitoring.as_(Role.county_officer, XINGYI).post(
        "/v1/cases",
        json={"household_id": str(h["id"]), "channel": "scan", "alert_id": reviews[0]["id"]},
    )
    assert refused.status_code == 422


async def test_a_case_follows_the_policy_it_was_opened_under(monitoring, feed) -> None:
    h = await feed.household(VILLAGE_A)
    who = _who(monitoring)
    case_id = await _reviewed_by_the_village(who, h["id"])
    province = (await who["county"].get("/v1/policy/2021")).json()
    assert (await who["county"].get(f"/v1/cases/{case_id}")).json()["policy_id"] == province["id"]
    # The county sets its own, stricter notice for the year while the case is under way.
    admin = monitoring.as_(Role.province_admin, "520000000000")
    stricter = {k: province[k] for k in ("monitoring_line", "rules")} | {"notice_days": 10}
    put = await admin.put(f"/v1/policy/2021?region={XINGYI}", json=stricter)
    assert put.status_code in (200, 201), put.text
    today = clock.today()
    # The case keeps the rules it started with: the province's five-day notice.
    await _do(
        who["village"],
        case_id,
        action="publish_notice",
        starts_on=str(today),
        ends_on=str(today + timedelta(days=6)),
    )


def _days_from_now(at: str, days: int) -> bool:
    """Whether the timestamp ``at`` is ``days`` days from now (give or take a minute)."""
    from datetime import UTC, datetime

    delta = datetime.fromisoformat(at) - (datetime.now(UTC) + timedelta(days=days))
    return abs(delta.total_seconds()) < 60


async def test_a_cases_clocks_come_from_its_policy_row(
    monitoring, feed, fake_registry, session
) -> None:
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    shipped = (await admin.get("/v1/policy/2021")).json()
    clocks = {
        "identification_deadline_days": 20,
        "first_measure_days": 45,
        "elimination_decision_days": 9,
    }
    year = clock.today().year
    put = await admin.put(
        f"/v1/policy/{year}?region={PROVINCE}",
        json={**{k: shipped[k] for k in ("monitoring_line", "rules")}, **clocks},
    )
    assert put.status_code == 201, put.text
    h = await feed.household(VILLAGE_A)
    case_id = await _to_monitored(monitoring, session, h["id"])
    case = (await _who(monitoring)["county"].get(f"/v1/cases/{case_id}")).json()
    assert case["policy_id"] == put.json()["id"]
    # The first development-type measure is due the policy's 45 days after the decision.
    assert _days_from_now(case["due_at"], 45), case["due_at"]
    first = case["timeline"][0]
    assert first["action"] == "open"
    opened = await _who(monitoring)["village"].post(
        "/v1/cases",
        json={"household_id": str((await feed.household(VILLAGE_A))["id"]), "channel": "cadre"},
    )
    # Identification: the policy's 20 days from discovery.
    assert _days_from_now(opened.json()["due_at"], 20), opened.json()["due_at"]
    today = clock.today()
    proposed = await _do(
        _who(monitoring)["village"],
        case_id,
        action="propose_elimination",
        result="pass",
        starts_on=str(today),
        ends_on=str(today + timedelta(days=6)),
    )
    # The county's decision on the proposal: the policy's 9 days.
    assert _days_from_now(proposed["due_at"], 9), proposed["due_at"]


async def test_without_a_policy_nothing_is_opened_or_decided(monitoring, feed, session) -> None:
    h = await feed.household(VILLAGE_A)
    who = _who(monitoring)
    case_id = await _reviewed_by_the_village(who, h["id"])
    # No policy in force anywhere (the case recorded none, as cases from before 0006 did).
    await session.execute(text("UPDATE monitoring.policies SET status = 'superseded'"))
    await session.execute(
        text("UPDATE monitoring.cases SET policy_id = NULL WHERE id = :c"), {"c": case_id}
    )
    await session.commit()
    other = await feed.household(VILLAGE_A)
    refused = await who["village"].post(
        "/v1/cases",
        json={"household_id": str(other["id"]), "channel": "cadre"},
        headers={"Accept-Language": "zh"},
    )
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "policy.missing"
    assert "没有生效的监测政策" in refused.json()["detail"]
    today = clock.today()
    acting = await who["village"].post(
        f"/v1/cases/{case_id}/actions",
        json={
            "action": "publish_notice",
            "starts_on": str(today),
            "ends_on": str(today + timedelta(days=6)),
        },
    )
    assert acting.status_code == 409, acting.text
    assert acting.json()["code"] == "policy.missing"
    case = (await who["village"].get(f"/v1/cases/{case_id}")).json()
    assert case["stage"] == "village_reviewed"
