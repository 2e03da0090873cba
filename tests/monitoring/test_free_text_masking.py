"""Issue 19.14: free text (a declaration's reason, description and review note, a case step's
note) is shown with its ID numbers and phone numbers masked to every role that sees masked
data, and whole to the county and above."""

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from shared import idnumber
from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI, XINGYI_TOWNSHIP

OTHER = idnumber.make("522301", date(1975, 2, 3), 77)
PHONE = "13912345678"


@pytest.fixture(autouse=True)
async def fresh_limits(queue: Any, settings: Any) -> AsyncIterator[None]:
    async def clear() -> None:
        async for key in queue.scan_iter(match=f"povguard:rate:{settings.queue_name}:declare:*"):
            await queue.delete(key)

    await clear()
    yield
    await clear()


async def test_declaration_texts_are_masked_below_the_county(
    monitoring: Any, villages: Any
) -> None:
    body = {
        "name": "张三",
        "id_number": idnumber.make("522301", date(1980, 6, 1), 31),
        "phone": "13800001234",
        "village_code": VILLAGE_A,
        "reason": f"儿子{OTHER}",
        "description": f"请联系我弟弟 139-1234-5678 或 {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}",
    }
    assert (await monitoring.post("/v1/declarations", json=body)).status_code == 201
    county = monitoring.as_(Role.county_officer, XINGYI)
    [declaration] = (await county.get("/v1/declarations")).json()["items"]
    dismissed = await county.post(
        f"/v1/declarations/{declaration['id']}/actions",
        json={"action": "dismiss", "note": f"已电话联系{PHONE}, 不符合条件"},
    )
    assert dismissed.status_code == 200, dismissed.text

    [whole] = (await county.get("/v1/declarations")).json()["items"]
    assert whole["reason"] == body["reason"]
    assert whole["review_note"] == f"已电话联系{PHONE}, 不符合条件"
    for role, region in ((Role.township_officer, XINGYI_TOWNSHIP), (Role.auditor, XINGYI)):
        [masked] = (await monitoring.as_(role, region).get("/v1/declarations")).json()["items"]
        assert masked["reason"] == f"儿子{idnumber.mask(OTHER)}"
        assert masked["description"] == "请联系我弟弟 139****5678 或 139****5678"
        assert masked["review_note"] == "已电话联系139****5678, 不符合条件"


async def test_case_notes_are_masked_below_the_county(monitoring: Any, feed: Any) -> None:
    h = await feed.household(VILLAGE_A)
    village = monitoring.as_(Role.village_cadre, VILLAGE_A)
    opened = await village.post(
        "/v1/cases", json={"household_id": str(h["id"]), "channel": "cadre"}
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    verified = await village.post(
        f"/v1/cases/{case_id}/actions",
        json={"action": "verify", "note": f"户主电话{PHONE}, 其子{OTHER}"},
    )
    assert verified.status_code == 200, verified.text
    notes = [e["note"] for e in verified.json()["timeline"] if e["action"] == "verify"]
    assert notes == [f"户主电话139****5678, 其子{idnumber.mask(OTHER)}"]
    county = monitoring.as_(Role.county_officer, XINGYI)
    read = (await county.get(f"/v1/cases/{case_id}")).json()
    assert [e["note"] for e in read["timeline"] if e["action"] == "verify"] == [
        f"户主电话{PHONE}, 其子{OTHER}"
    ]
