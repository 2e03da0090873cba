"""Every write leaves one audit row and one change event whose snapshot is the contract
monitoring reads (shared.contracts.registry)."""

from datetime import date

from pydantic import BaseModel
from sqlalchemy import select

from services.registry.database import ChangeLogEntry as AuditLog
from shared.auth import Role
from shared.contracts.registry import (
    EconomicsSnapshot,
    GuaranteeSnapshot,
    HouseholdSnapshot,
    MeasureSnapshot,
    MemberSnapshot,
)
from tests.conftest import VILLAGE_A, XINGYI
from tests.registry.helpers import household, id_number, member

SNAPSHOTS: dict[str, type[BaseModel]] = {
    "household": HouseholdSnapshot,
    "member": MemberSnapshot,
    "economics": EconomicsSnapshot,
    "guarantee": GuaranteeSnapshot,
    "measure": MeasureSnapshot,
}


async def test_each_write_is_audited_and_published_with_a_full_snapshot(
    registry, villages, session
) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A, sub="cadre-li")
    officer = registry.as_(Role.county_officer, XINGYI, sub="officer-zhao")
    created = (await cadre.post("/v1/households", json=household(VILLAGE_A))).json()
    hid = created["id"]
    head, spouse = created["members"]
    child = (
        await cadre.post(
            f"/v1/households/{hid}/members",
            json=member("child", id_number=id_number(date(2012, 4, 5), male=False)),
        )
    ).json()
    await cadre.patch(
        f"/v1/members/{spouse['id']}", json={"dibao": True}, headers={"If-Match": "1"}
    )
    await cadre.delete(
        f"/v1/members/{child['id']}", params={"reason": "moved", "departed_on": "2024-06-01"}
    )
    await cadre.put(
        f"/v1/households/{hid}/economics/2024", json={"wage": "10000", "education": "1"}
    )
    await cadre.put(
        f"/v1/households/{hid}/guarantees",
        json={"drinking_water": {"ok": False, "checked_on": "2024-07-01", "note": "缺水"}},
    )
    await cadre.post(
        f"/v1/households/{hid}/measures", json={"kind": "housing", "start": "2024-08-01"}
    )
    await officer.put(
        f"/v1/households/{hid}/category", json={"category": "monitored", "reason": "县级认定"}
    )

    audit = (
        await session.execute(
            select(AuditLog.entity, AuditLog.action, AuditLog.actor)
            .where(AuditLog.household_id == hid)
            .order_by(AuditLog.seq)
        )
    ).all()
    assert [tuple(a) for a in audit] == [
        ("household", "create", "cadre-li"),
        ("member", "create", "cadre-li"),
        ("member", "create", "cadre-li"),
        ("member", "create", "cadre-li"),
        ("member", "update", "cadre-li"),
        ("member", "depart", "cadre-li"),
        ("economics", "create", "cadre-li"),
        ("guarantee", "check", "cadre-li"),
        ("measure", "create", "cadre-li"),
        ("household", "update", "officer-zhao"),
    ]
    events = (
        (
            await session.execute(
                select(AuditLog)
                .where(AuditLog.household_id == hid, AuditLog.op.is_not(None))
                .order_by(AuditLog.seq)
            )
        )
        .scalars()
        .all()
    )
    assert [(e.entity, e.op) for e in events] == [
        ("household", "create"),
        ("member", "create"),
        ("member", "create"),
        ("member", "create"),
        ("member", "update"),
        ("member", "depart"),
        ("economics", "create"),
        ("guarantee", "update"),
        ("measure", "create"),
        ("household", "update"),
    ]
    for event in events:  # every snapshot is complete: it parses as the contract model
        SNAPSHOTS[event.entity].model_validate(event.data)
    by_kind = {(e.entity, e.op): e.data for e in events}
    assert by_kind[("member", "depart")]["departure_reason"] == "moved"
    assert by_kind[("member", "update")]["dibao"] is True
    economics = by_kind[("economics", "create")]
    assert (economics["resident_members"], economics["per_capita_net_income"]) == (2, "4999.50")
    assert by_kind[("guarantee", "update")]["kind"] == "drinking_water"
    final = by_kind[("household", "update")]
    assert (final["category"], final["at_risk"]) == ("monitored", True)

    history = (await officer.get(f"/v1/households/{hid}/history")).json()["items"]
    assert history[0]["old"] == {
        "at_risk": False,
        "category": "poverty_alleviated",
        "category_before_monitoring": None,
    }
    assert history[0]["actor"] == "officer-zhao"
    read = (await officer.get(f"/v1/households/{hid}")).json()
    assert read["category_before_monitoring"] == "poverty_alleviated"
    await officer.put(
        f"/v1/households/{hid}/category",
        json={"category": read["category_before_monitoring"], "reason": "风险消除"},
    )
    restored = (await officer.get(f"/v1/households/{hid}")).json()
    assert (restored["category"], restored["category_before_monitoring"]) == (
        "poverty_alleviated",
        None,
    )
    assert head["id"] in {h["entity_id"] for h in history}
    categories = (await officer.get(f"/v1/households/{hid}/categories")).json()
    assert [(c["from_category"], c["to_category"], c["changed_by"]) for c in categories] == [
        (None, "poverty_alleviated", "cadre-li"),
        ("poverty_alleviated", "monitored", "officer-zhao"),
        ("monitored", "poverty_alleviated", "officer-zhao"),
    ]
