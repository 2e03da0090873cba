"""One resident head per household, kept through edits and departures."""

from shared.auth import Role
from tests.conftest import VILLAGE_A
from tests.registry.helpers import household


async def test_the_head_is_handed_over_in_one_request(registry, villages) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    created = (await cadre.post("/v1/households", json=household(VILLAGE_A))).json()
    head, spouse = created["members"]
    demote = await cadre.patch(
        f"/v1/members/{head['id']}", json={"relation": "spouse"}, headers={"If-Match": "1"}
    )
    assert demote.status_code == 409
    unnamed = await cadre.patch(
        f"/v1/members/{spouse['id']}", json={"relation": "head"}, headers={"If-Match": "1"}
    )
    assert unnamed.status_code == 422
    assert unnamed.json()["errors"][0]["field"] == "former_head_relation"
    handed = await cadre.patch(
        f"/v1/members/{spouse['id']}",
        json={"relation": "head", "former_head_relation": "spouse"},
        headers={"If-Match": "1"},
    )
    assert handed.status_code == 200, handed.text
    after = (await cadre.get(f"/v1/households/{created['id']}")).json()["members"]
    assert {m["id"]: m["relation"] for m in after} == {head["id"]: "spouse", spouse["id"]: "head"}
    history = (await cadre.get(f"/v1/households/{created['id']}/history")).json()["items"]
    assert [(h["entity_id"], h["new"]) for h in history[:2]] == [
        (spouse["id"], {"relation": "head"}),
        (head["id"], {"relation": "spouse"}),
    ]
