"""What a batch costs the database: items share savepoints and a change need not read its
record first (issue 24's bench), and an item the database refuses after others went through
in its chunk undoes nothing of theirs."""

from typing import Any
from uuid import uuid4

from sqlalchemy import event, text

from shared.auth import Role
from tests.conftest import VILLAGE_A
from tests.registry.helpers import household, id_number, member


def op(entity: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"item_id": str(uuid4()), "entity": entity, "op": kind, **fields}


def patches(n: int, home: dict[str, Any]) -> list[dict[str, Any]]:
    """A cadre's two edits of household ``n``: its head's health, its address."""
    head = home["members"][0]
    return [
        op("member", "patch", id=head["id"], base_version=head["version"],
           data={"health": "chronic"}),
        op("household", "patch", id=home["id"], base_version=home["version"],
           data={"address": f"批量{n}"}),
    ]  # fmt: skip


async def _homes(cadre: Any, count: int) -> list[dict[str, Any]]:
    homes = []
    for n in range(count):
        created = await cadre.post("/v1/households", json=household(VILLAGE_A, f"S{n:04d}"))
        assert created.status_code == 201, created.text
        homes.append(created.json())
    return homes


async def test_a_mixed_batch_sends_few_statements_per_item(registry, villages, connection) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    items = []
    for n, h in enumerate(await _homes(cadre, 3)):
        items += [
            *patches(n, h),
            op("member", "create", household_id=h["id"],
               data=member("child", name="新生儿", id_number=id_number())),
            op("economics", "create", household_id=h["id"],
               data={"year": 2024, "wage": "12000.00"}),
            op("guarantees", "patch", household_id=h["id"],
               data={"drinking_water": {"ok": True, "checked_on": "2024-06-01"}}),
        ]  # fmt: skip
    sent: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    event.listen(connection.sync_engine, "before_cursor_execute", count)
    try:
        answer = await cadre.post("/v1/batches", json={"items": items})
    finally:
        event.remove(connection.sync_engine, "before_cursor_execute", count)
    assert answer.json()["applied"] == len(items), answer.text
    # 7.6 a item with a savepoint each and a read before each change; 4.4 now, and a few
    # for the batch (its answers, the versions, one savepoint, the job outbox).
    assert len(sent) / len(items) < 5.5, sent
    assert sum(s.startswith("SAVEPOINT") for s in sent) < 5


async def test_an_item_refused_by_the_database_leaves_the_items_before_it_once(
    registry, villages, session
) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    (home,) = await _homes(cadre, 1)
    head = home["members"][0]
    items = [
        op("member", "patch", id=head["id"], base_version=head["version"],
           data={"health": "chronic"}),
        op("household", "patch", id=home["id"], base_version=home["version"],
           data={"address": "新\u0000址"}),  # refused by the database, after a write
        op("household", "patch", id=home["id"], base_version=home["version"],
           data={"address": "新址"}),
    ]  # fmt: skip
    body = (await cadre.post("/v1/batches", json={"items": items})).json()
    assert [(i["status"], i["code"]) for i in body["items"]] == [
        ("applied", None),
        ("rejected", "validation.character"),
        ("applied", None),
    ]
    assert body["items"][0]["version"] == head["version"] + 1
    stored = (await cadre.get(f"/v1/households/{home['id']}")).json()
    assert stored["address"] == "新址"
    assert stored["members"][0]["version"] == head["version"] + 1
    logged = await session.execute(
        text("SELECT count(*) FROM registry.change_log WHERE batch_id = :b"),
        {"b": body["batch_id"]},
    )
    assert logged.scalar_one() == 2
