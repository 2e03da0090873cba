"""Funds keeps one change log: a project step or a payment is one entry holding who acted
(the audit trail) and the event its webhooks publish, although the service records the two
with separate calls."""

from sqlalchemy import text

from tests.funds.conftest import approved_project, county, county_fund, days_ago


async def test_a_project_step_and_a_payment_are_one_entry_each(funds, session) -> None:
    fund = await county_fund(funds)
    project = await approved_project(funds, fund["id"])
    paid = await county(funds).post(
        f"/v1/projects/{project['id']}/payments",
        json={"amount": "10.00", "payee": "施工方", "voucher_no": "V1", "paid_on": days_ago(0)},
    )
    assert paid.status_code == 201, paid.text
    rows = (
        await session.execute(
            text(
                "SELECT entity, entity_id, action, actor, op, data FROM funds.change_log "
                "WHERE entity_id IN (:project, :payment) ORDER BY seq"
            ),
            {"project": project["id"], "payment": paid.json()["id"]},
        )
    ).all()
    steps = [(r.entity, r.action, r.op) for r in rows]
    assert steps == [
        ("project", "create", "created"),
        ("project", "approve", "approved"),
        ("payment", "pay", "created"),
        # What the payment changed of the project (paid, remaining): its new version.
        ("project", "project.updated", "updated"),
    ]
    assert all(r.actor != "system" for r in rows[:3])  # the officer who acted, not the system
    assert rows[2].data["payee"] == "施工方"  # what the webhook delivers
    assert rows[3].data["paid"] == "10.00"
    assert rows[3].data["version"] == rows[1].data["version"] + 1
