"""A field added to a snapshot of the contract travels from the registry to monitoring's
projection with no list of fields to extend by hand: the registry's set-based writer builds
the event's ``data`` from the contract's fields, the feed's reader validates it by the
contract, and the projection's upsert reads back every contract field its table has."""

from datetime import date
from typing import cast

from sqlalchemy import Column, MetaData, Table, Text, text

from services.monitoring.projection import repository as projection_repository
from services.monitoring.projection import service as projection_service
from services.monitoring.projection.models import WatchedMember
from services.registry.imports import repository as import_repository
from shared import idnumber
from shared.auth import Role
from shared.contracts.registry import SNAPSHOTS, ChangeEntity, MemberSnapshot
from tests.conftest import VILLAGE_A, XINGYI


class NicknamedMember(MemberSnapshot):
    """The contract's member with one more field, as a developer would add it."""

    nickname: str | None = None  # 小名


async def test_a_new_member_field_travels_from_the_registry_to_the_projection(
    registry, villages, registry_client, session, monkeypatch
) -> None:
    # Where the field is stored on each side (a migration each; rolled back with the test).
    await session.execute(
        text("ALTER TABLE registry.members ADD COLUMN nickname text DEFAULT '阿明'")
    )
    await session.execute(text("ALTER TABLE monitoring.members ADD COLUMN nickname text"))
    await session.commit()
    # The contract gains the field: every place that reads the contract sees it.
    monkeypatch.setitem(SNAPSHOTS, ChangeEntity.member, NicknamedMember)
    monkeypatch.setattr(import_repository, "MemberSnapshot", NicknamedMember)
    # The projection's table gains the column (in the code: a column of WatchedMember); its
    # upsert is generated from the table and the contract as the module generates it.
    projected = cast(Table, WatchedMember.__table__).to_metadata(MetaData())
    projected.append_column(Column("nickname", Text))
    monkeypatch.setitem(
        projection_repository.UPSERTS,
        "member",
        projection_repository.upsert_sql(projected, NicknamedMember, ("id",)),
    )

    number = idnumber.make("522301", date(1975, 8, 8), 51)
    synced = await registry.as_(Role.department, XINGYI).post(
        "/v1/sync/households",
        json={
            "system": "civil_affairs",
            "items": [
                {
                    "external_id": "NICK-1",
                    "region_code": VILLAGE_A,
                    "category": "poverty_alleviated",
                    "members": [{"name": "王阿明", "id_number": number, "relation": "head"}],
                }
            ],
        },
    )
    assert synced.status_code == 200, synced.text
    assert synced.json()["items"][0]["status"] == "created", synced.text
    while await projection_service.follow_page(session, registry_client):
        pass
    nickname = (
        await session.execute(
            text("SELECT nickname FROM monitoring.members WHERE id_number = :n"), {"n": number}
        )
    ).scalar_one()
    assert nickname == "阿明"
