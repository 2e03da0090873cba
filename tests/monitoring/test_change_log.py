"""Monitoring keeps one change log: a step of a case is one entry holding who acted (the
audit trail) and the ``case.<step>`` event its webhooks publish, although the service
records the two with separate calls."""

from sqlalchemy import text

from shared.auth import Role
from tests.conftest import VILLAGE_A


async def test_each_step_of_a_case_is_one_entry(monitoring, feed, session) -> None:
    h = await feed.household(VILLAGE_A)
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A, sub="cadre-li")
    opened = await cadre.post("/v1/cases", json={"household_id": str(h["id"]), "channel": "cadre"})
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    verified = await cadre.post(f"/v1/cases/{case_id}/actions", json={"action": "verify"})
    assert verified.status_code == 200, verified.text
    rows = (
        await session.execute(
            text(
                "SELECT action, actor, entity || '.' || op AS event, data->>'stage' AS stage "
                "FROM monitoring.change_log WHERE entity_id = :c ORDER BY seq"
            ),
            {"c": case_id},
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("case.open", "cadre-li", "case.opened", "discovered"),
        ("case.verify", "cadre-li", "case.verified", "verified"),
    ]
