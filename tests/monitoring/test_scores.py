"""Risk scorecards (风险评分卡): refused unless sound; every scan scores every household it
examines; the ranked visit list, one household's explanation, and the score on its alerts."""

from typing import Any

import pytest

from services.monitoring.alerts import jobs as scan_jobs
from shared.auth import Role
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, VILLAGE_B, XINGYI

PROVINCE = "520000000000"
XINGYI_TOWNSHIP = "522301100000"


def _card(**changes: Any) -> dict[str, Any]:
    """A sound two-indicator scorecard, with ``changes`` to the first indicator."""
    first = {
        "name": "income_to_line",
        "weight": "0.6",
        "bins": [
            {"upper": "1.0", "points": 100},
            {"lower": "1.0", "upper": "1.5", "points": 40},
            {"lower": "1.5", "points": 0},
        ],
        **changes,
    }
    second = {
        "name": "relocated",
        "weight": "0.4",
        "bins": [{"upper": "1", "points": 0}, {"lower": "1", "points": 100}],
    }
    return {"indicators": [first, second]}


@pytest.mark.parametrize(
    ("card", "code"),
    [
        (_card(weight="0.5"), "scorecard.weights"),
        (
            _card(bins=[{"upper": "1.0", "points": 100}, {"lower": "1.2", "points": 0}]),
            "scorecard.bins_gap",
        ),
        (_card(bins=[{"lower": "0", "points": 100}]), "scorecard.bins_gap"),  # below 0 left out
        (
            _card(bins=[{"upper": "1.2", "points": 100}, {"lower": "1.0", "points": 0}]),
            "scorecard.bins_overlap",
        ),
        (_card(name="cars_owned"), "scorecard.unknown_indicator"),
    ],
)
async def test_an_unsound_scorecard_is_refused_with_field_errors(
    monitoring, card: dict[str, Any], code: str
) -> None:
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    del admin.headers["Accept-Language"]  # no preference: Chinese
    response = await admin.put(f"/v1/scorecards/2021?region={PROVINCE}", json=card)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert code in {e["code"] for e in problem["errors"]}
    assert all(e["field"].startswith("indicators") for e in problem["errors"])
    assert not problem["detail"].isascii()  # in Chinese


async def test_scorecards_are_versioned_and_a_county_s_waits_for_the_province(monitoring) -> None:
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    shown = (await admin.get(f"/v1/scorecards/2021?region={PROVINCE}")).json()
    assert shown["version"] == 0
    assert shown["status"] == "default"
    assert sum(float(i["weight"]) for i in shown["indicators"]) == pytest.approx(1)
    first = await admin.put(f"/v1/scorecards/2021?region={PROVINCE}", json=_card())
    assert first.status_code == 201, first.text
    second = await admin.put(f"/v1/scorecards/2021?region={PROVINCE}", json={})
    assert second.status_code == 200
    assert second.json()["version"] == 2
    assert second.json()["effective_from"]
    county = monitoring.as_(Role.county_officer, XINGYI)
    asked = await county.put(f"/v1/scorecards/2021?region={XINGYI}", json=_card())
    assert asked.status_code == 202
    assert asked.json()["status"] == "pending"
    read = (await county.get(f"/v1/scorecards/2021?region={XINGYI}")).json()
    assert read["region_code"] == PROVINCE
    assert read["version"] == 2
    approver = monitoring.as_(Role.province_admin, PROVINCE, sub="another-admin")
    approved = await approver.post(f"/v1/scorecards/{asked.json()['id']}/approve")
    assert approved.status_code == 200
    assert approved.json()["status"] == "active"
    read = (await county.get(f"/v1/scorecards/2021?region={XINGYI}")).json()
    assert read["region_code"] == XINGYI
    assert len(read["indicators"]) == 2


async def _scan(monitoring: Any, job_ctx: dict[str, Any]) -> None:
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    response = await admin.post("/v1/scans", json={"region_code": PROVINCE, "year": 2021})
    assert response.status_code == 202, response.text
    scan_id = response.json()["scan_id"]
    for county in (await admin.get(f"/v1/scans/{scan_id}")).json()["counties"]:
        await scan_jobs.scan_county(job_ctx, scan_id, county["county_code"])


async def test_scores_rank_explain_and_ride_on_alerts(monitoring, feed, job_ctx) -> None:
    # The default scorecard; the line is 6,000 (Guizhou 2021). Three guarantees are met and
    # housing is not; nobody is ill, a dependant, relocated, or named by a signal.
    risky = await feed.household(
        VILLAGE_A, income={2020: "10000.00", 2021: "5700.00"}, guarantees={"housing_safety": False}
    )
    near = await feed.household(VILLAGE_B, income={2021: "6300.00"})
    fine = await feed.household(PUAN_VILLAGE, income={2020: "9000.00", 2021: "9500.00"})
    await _scan(monitoring, job_ctx)

    admin = monitoring.as_(Role.province_admin, PROVINCE)
    explained = (await admin.get(f"/v1/households/{risky['id']}/score")).json()
    # By hand: 5,700 / 6,000 = 0.95 under the line, 100 x 0.25 = 25; income fell 43 %, 100 x
    # 0.10 = 10; housing not safe, 100 x 0.04 = 4; everything else 0.
    assert explained["score"] == pytest.approx(39)
    assert explained["scorecard_version"] == 0
    by_name = {i["name"]: i for i in explained["indicators"]}
    assert by_name["income_to_line"] == {
        "name": "income_to_line", "value": 0.95, "points": 100, "weight": 0.25, "share": 25
    }  # fmt: skip
    assert by_name["income_change"]["value"] == pytest.approx(-0.43)
    assert by_name["guarantee_housing_safety"]["share"] == pytest.approx(4)
    assert by_name["able_to_work"]["value"] == 3
    assert sum(i["share"] for i in explained["indicators"]) == pytest.approx(explained["score"])

    ranked = (await admin.get("/v1/scores", params={"limit": 2})).json()
    assert [i["household_id"] for i in ranked["items"]] == [str(risky["id"]), str(near["id"])]
    assert [i["score"] for i in ranked["items"]] == [39, 17.5]  # 1.05 of the line: 70 x 0.25
    rest = (await admin.get("/v1/scores", params={"cursor": ranked["next_cursor"]})).json()
    assert [(i["household_id"], i["score"]) for i in rest["items"]] == [(str(fine["id"]), 0)]

    alerts = (await admin.get("/v1/alerts", params={"status": "open"})).json()["items"]
    mine = [a for a in alerts if a["household_id"] == str(risky["id"])]
    assert {a["rule"] for a in mine} == {"income_below_line", "income_drop", "guarantee_lost"}
    for alert in mine:
        assert alert["score"] == pytest.approx(39)
        assert [i["name"] for i in alert["top_indicators"]] == [
            "income_to_line",
            "income_change",
            "guarantee_housing_safety",
        ]


async def test_a_township_reads_only_its_own_scores(monitoring, feed, job_ctx) -> None:
    mine = await feed.household(VILLAGE_A, income={2021: "5000.00"})
    theirs = await feed.household(PUAN_VILLAGE, income={2021: "5000.00"})
    await _scan(monitoring, job_ctx)
    township = monitoring.as_(Role.township_officer, XINGYI_TOWNSHIP)
    listed = (await township.get("/v1/scores")).json()["items"]
    assert [i["household_id"] for i in listed] == [str(mine["id"])]
    assert (await township.get(f"/v1/households/{theirs['id']}/score")).status_code == 404
    assert (await township.get("/v1/scores", params={"region": PUAN})).status_code == 404


async def test_a_rescan_rewrites_only_the_scores_that_changed(
    monitoring, feed, session, job_ctx
) -> None:
    # A daily scan rescoring a county: a household whose figures did not change keeps its
    # row as it was (not even locked: the same row version, no locker), a changed one is rewritten. The
    # test runs in one transaction, so the row's place and locker (ctid, xmax) tell, not its
    # scored_at.
    from sqlalchemy import text

    steady = await feed.household(VILLAGE_A, income={2021: "9000.00"})
    falling = await feed.household(VILLAGE_B, income={2021: "9000.00"})
    await _scan(monitoring, job_ctx)
    admin = monitoring.as_(Role.province_admin, PROVINCE)

    async def version(household: dict[str, Any]) -> tuple[str, float]:
        place = await session.scalar(
            text(
                "SELECT ctid::text || ' ' || xmax::text FROM monitoring.household_scores "
                "WHERE household_id = :h"
            ),
            {"h": household["id"]},
        )
        score = (await admin.get(f"/v1/households/{household['id']}/score")).json()["score"]
        return place, score

    before = {h["id"]: await version(h) for h in (steady, falling)}
    assert before[falling["id"]][1] == 0
    await feed.apply(feed.economics(falling["id"], VILLAGE_B, 2021, "5700.00"))
    await _scan(monitoring, job_ctx)

    assert await version(steady) == before[steady["id"]]
    place, score = await version(falling)
    assert score == pytest.approx(25)  # under the line: 100 x 0.25
    assert place != before[falling["id"]][0]
