"""A cadre reads the monitoring service's refusals in Chinese (English on request), each with
a stable code a client branches on; the machine lists (allowed actions, unmet conditions)
stay as they are in every language."""

from datetime import timedelta

from shared import clock
from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI
from tests.monitoring.conftest import let_notice_run
from tests.monitoring.test_cases import _to_monitored, fake_registry

__all__ = ["fake_registry"]  # the fixture, for the tests below


async def test_an_action_the_stage_does_not_allow(monitoring, feed, fake_registry) -> None:
    h = await feed.household(VILLAGE_A)
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    opened = await cadre.post("/v1/cases", json={"household_id": str(h["id"]), "channel": "cadre"})
    assert opened.status_code == 201, opened.text
    path = f"/v1/cases/{opened.json()['id']}/actions"
    del cadre.headers["Accept-Language"]  # no preference: Chinese

    zh = await cadre.post(path, json={"action": "village_review", "result": "pass"})
    assert zh.status_code == 409
    body = zh.json()
    assert body["code"] == "case.wrong_stage"
    assert body["title"] == "冲突"
    assert body["detail"] == (
        "案件处于 discovered 环节，不能执行 village_review；当前可执行的操作：reject, verify"
    )
    assert body["allowed_actions"] == ["reject", "verify"]
    assert zh.headers["content-language"] == "zh-CN"

    en = await cadre.post(
        path, json={"action": "village_review", "result": "pass"}, headers={"Accept-Language": "en"}
    )
    assert en.json()["code"] == "case.wrong_stage"
    assert en.json()["detail"] == (
        "a case at stage discovered does not allow village_review; allowed: reject, verify"
    )
    assert en.json()["allowed_actions"] == ["reject", "verify"]


async def test_a_refused_elimination_lists_its_conditions(
    monitoring, feed, fake_registry, session
) -> None:
    h = await feed.household(VILLAGE_A, income={2021: "5000.00"})
    case_id = await _to_monitored(monitoring, session, h["id"])
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    today = clock.today()
    proposed = await cadre.post(
        f"/v1/cases/{case_id}/actions",
        json={
            "action": "propose_elimination",
            "result": "pass",
            "starts_on": str(today),
            "ends_on": str(today + timedelta(days=6)),
        },
    )
    assert proposed.status_code == 200, proposed.text
    await let_notice_run(session, case_id)
    county = monitoring.as_(Role.county_officer, XINGYI)
    del county.headers["Accept-Language"]
    eliminate = {"action": "eliminate", "method": "help"}

    zh = await county.post(f"/v1/cases/{case_id}/actions", json=eliminate)
    assert zh.status_code == 409
    body = zh.json()
    assert body["code"] == "case.elimination_refused"
    assert body["detail"].startswith("暂不符合风险消除条件：纳入监测不满 6 个月")
    assert "尚未落实帮扶措施" in body["detail"]
    assert "未高于监测范围标准" in body["detail"]
    # The conditions themselves are machine values, the same in every language.
    assert any("6 months" in u for u in body["unmet_conditions"])

    en = await county.post(
        f"/v1/cases/{case_id}/actions", json=eliminate, headers={"Accept-Language": "en"}
    )
    assert en.json()["code"] == "case.elimination_refused"
    assert en.json()["detail"].startswith("the risk cannot be eliminated yet: monitored for less")
    assert en.json()["unmet_conditions"] == body["unmet_conditions"]


async def test_a_missing_case_and_a_refused_field(monitoring) -> None:
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    del cadre.headers["Accept-Language"]
    missing = await cadre.get("/v1/cases/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["code"] == "case.not_found"
    assert missing.json()["detail"] == "未找到该监测对象识别案件"

    stage = await cadre.get("/v1/cases", params={"stage": "nowhere"})
    assert stage.status_code == 422
    (error,) = stage.json()["errors"]
    assert error["field"] == "stage"
    assert error["code"] == "case.unknown_stage"
    assert error["message"].startswith("必须是以下之一：discovered")
