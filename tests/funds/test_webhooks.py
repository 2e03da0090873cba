"""Funds webhooks through the API: project steps and payments reach subscribed partners,
signed, from the funds outbox; a department sees no payee names."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from standardwebhooks import Webhook

from shared.auth import Role
from shared.webhooks.jobs import close, webhooks_deliver, webhooks_dispatch
from tests.conftest import VILLAGE_A, XINGYI, ApiClient
from tests.funds.conftest import GUIZHOU, approved_project, county, county_fund, days_ago
from tests.webhook_receiver import Receiver, client_token, serve


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve(Receiver()) as r:
        yield r


async def _subscribe(funds: ApiClient, url: str, events: list[str], role: Role, region: str) -> Any:
    partner = ApiClient(funds.app, funds.settings)
    token = client_token(funds.settings, region, role=role, client_id=role.value)
    partner.headers["Authorization"] = f"Bearer {token}"
    answer = await partner.post("/v1/webhooks", json={"url": url, "events": events})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_project_steps_and_payments_are_delivered_masked_for_departments(
    funds: ApiClient, registry_stub: Any, job_ctx: dict[str, Any], receiver: Receiver
) -> None:
    settings = funds.settings.model_copy(update={"webhook_allow_loopback": True})
    funds.app.state.settings = settings
    events = ["project.approved", "payment.created"]
    dept = await _subscribe(funds, receiver.url, events, Role.department, XINGYI)
    admin = await _subscribe(funds, receiver.url, events, Role.province_admin, GUIZHOU)

    household = registry_stub.add_household(VILLAGE_A)
    fund = await county_fund(funds)
    project = await approved_project(funds, fund["id"], budget="100.00", households=[household])
    paid = await county(funds).post(
        f"/v1/projects/{project['id']}/payments",
        json={
            "amount": "60.00",
            "payee": "王大山",
            "voucher_no": "V1",
            "paid_on": days_ago(0),
            "household_id": str(household),
        },
    )
    assert paid.status_code == 201, paid.text

    ctx = {**job_ctx, "settings": settings}
    await webhooks_dispatch(ctx, "funds")
    for webhook in (dept, admin):
        await webhooks_deliver(ctx, "funds", webhook["id"])
    await close(ctx)
    seen: dict[str, dict[str, Any]] = {}
    for r in receiver.requests:
        for who, webhook in (("dept", dept), ("admin", admin)):
            try:
                payload = Webhook(webhook["secret"]).verify(r.body, r.headers)
            except Exception:
                continue
            seen[f"{who}:{payload['type']}"] = payload["data"]
    assert set(seen) == {
        "dept:project.approved",
        "dept:payment.created",
        "admin:project.approved",
        "admin:payment.created",
    }
    assert seen["dept:project.approved"]["id"] == project["id"]
    assert seen["dept:project.approved"]["status"] == "approved"
    assert seen["dept:project.approved"]["budget"] == "100.00"
    assert seen["dept:payment.created"]["amount"] == "60.00"
    assert seen["dept:payment.created"]["household_id"] == str(household)
    # Null, as GET shows a department a payee (and the accounts that acted).
    dept_payment = seen["dept:payment.created"]
    assert (dept_payment["payee"], dept_payment["created_by"]) == (None, None)
    # The whole state, as GET shows it: a project with its funds, beneficiaries and version.
    assert seen["dept:project.approved"]["fund_ids"]
    assert seen["dept:project.approved"]["version"] >= 2
    assert seen["admin:payment.created"]["payee"] == "王大山"
    # ...and nothing more: no payee: null on a project (the feed's masking, per entity).
    assert not {"payee", "created_by", "confirmed_by"} & set(seen["dept:project.approved"])
