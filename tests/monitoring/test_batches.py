"""Offline case steps: a cadre's queued steps on cases, sent together, answered per item."""

from typing import Any
from uuid import uuid4

from sqlalchemy import text

from shared.auth import Role
from tests.conftest import PUAN, VILLAGE_A, XINGYI
from tests.monitoring.test_cases import _to_monitored, fake_registry

__all__ = ["fake_registry"]  # the fixture, for the tests below


def step(case: dict[str, Any], base: int | None = None, **data: Any) -> dict[str, Any]:
    return {
        "item_id": str(uuid4()),
        "entity": "case",
        "op": "action",
        "id": case["id"],
        "base_version": base if base is not None else case["version"],
        "data": data,
    }


async def _case(monitoring: Any, feed: Any) -> dict[str, Any]:
    household = await feed.household(VILLAGE_A)
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    opened = await cadre.post(
        "/v1/cases", json={"household_id": str(household["id"]), "channel": "cadre"}
    )
    assert opened.status_code == 201, opened.text
    return opened.json()


async def test_case_steps_apply_in_order_and_conflict_and_resend(
    monitoring, feed, fake_registry, session
) -> None:
    case = await _case(monitoring, feed)
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    verify = step(case, action="verify", note="入户核实")
    review = step(case, base=case["version"] + 1, action="village_review", result="pass",
                  attendees=12)  # fmt: skip
    answer = await cadre.post("/v1/batches", json={"items": [verify, review]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [i["status"] for i in body["items"]] == ["applied", "applied"]
    assert body["items"][1]["version"] == case["version"] + 2
    now = (await cadre.get(f"/v1/cases/{case['id']}")).json()
    assert now["stage"] == "village_reviewed"
    logged = await session.execute(
        text("SELECT count(*) FROM monitoring.change_log WHERE batch_id = :b AND entity = 'case'"),
        {"b": body["batch_id"]},
    )
    assert logged.scalar_one() == 2

    # A step decided on the stage the phone saw, taken by someone else meanwhile: hard.
    stale = step(case, action="verify")
    hard = (await cadre.post("/v1/batches", json={"items": [stale]})).json()["items"][0]
    assert (hard["status"], hard["conflict"], hard["http_status"]) == ("conflict", "hard", 409)
    assert "stage" in hard["fields"]
    assert hard["version"] == now["version"]

    # A resend replays; a changed resend is a 409 for that item.
    again = (await cadre.post("/v1/batches", json={"items": [verify]})).json()["items"][0]
    assert again == {**body["items"][0], "replayed": True}
    changed = {**verify, "data": {"action": "verify", "note": "改了"}}
    reused = (await cadre.post("/v1/batches", json={"items": [changed]})).json()["items"][0]
    assert (reused["code"], reused["http_status"]) == ("batch.item_reused", 409)


async def test_case_steps_are_refused_per_item_and_atomic_takes_none(
    monitoring, feed, fake_registry
) -> None:
    case = await _case(monitoring, feed)
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    wrong_stage = step(case, action="county_decide", monitored_type=1, risk_types=["01"])
    verify = step(case, action="verify")
    body = (await cadre.post("/v1/batches", json={"items": [wrong_stage, verify]})).json()
    assert [(i["status"], i["http_status"]) for i in body["items"]] == [
        ("rejected", 403),  # a cadre does not decide for the county
        ("applied", 200),
    ]
    assert body["items"][0]["code"]

    other = await _case(monitoring, feed)
    first = step(other, action="verify")
    bad = step(other, base=other["version"] + 1, action="village_review", result="maybe")
    failed = (await cadre.post("/v1/batches", json={"items": [first, bad], "atomic": True})).json()
    assert [i["code"] for i in failed["items"]] == [
        "batch.atomic_rolled_back",
        failed["items"][1]["errors"][0]["code"],
    ]
    assert failed["items"][1]["errors"][0]["field"] == "data.result"
    assert (await cadre.get(f"/v1/cases/{other['id']}")).json()["stage"] == "discovered"

    # Another county's case is not found, as through POST /v1/cases/{id}/actions.
    puan = monitoring.as_(Role.county_officer, PUAN)
    outside = await puan.post("/v1/batches", json={"items": [step(other, action="verify")]})
    assert outside.json()["items"][0]["http_status"] == 404
    assert XINGYI not in outside.text


async def test_a_step_on_a_case_changed_elsewhere_but_not_its_stage_is_a_soft_conflict(
    monitoring, feed, fake_registry, session
) -> None:
    household = await feed.household(VILLAGE_A)
    case_id = await _to_monitored(monitoring, session, household["id"])
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    seen = (await cadre.get(f"/v1/cases/{case_id}")).json()
    # Another cadre's visit, recorded online meanwhile: the case moves on, its stage stays.
    visit = await cadre.post(
        f"/v1/cases/{case_id}/actions", json={"action": "follow_up", "note": "电话回访"}
    )
    assert visit.status_code == 200, visit.text
    offline = step(seen, action="follow_up", note="入户走访")
    answer = (await cadre.post("/v1/batches", json={"items": [offline]})).json()["items"][0]
    assert (answer["status"], answer["conflict"], answer["fields"]) == ("conflict", "soft", [])
    assert answer["version"] == seen["version"] + 2
    timeline = (await cadre.get(f"/v1/cases/{case_id}")).json()["timeline"]
    assert [e["note"] for e in timeline[-2:]] == ["电话回访", "入户走访"]
