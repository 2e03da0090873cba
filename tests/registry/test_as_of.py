"""``as_of``: the registry as it stood at any moment, from the change log. Across a sequence of
changes (create, patch, a member departs, the category changes) a household and a village's
list read at each moment between them what today's GET answered then, masked for today's
reader; before the household existed is a 404; a loose or future ``as_of`` is a 422."""

from datetime import timedelta
from typing import Any

from sqlalchemy import text

from shared.auth import Role
from shared.db import utcnow
from tests.conftest import VILLAGE_A, VILLAGE_B, XINGYI
from tests.registry.helpers import household


async def _moment(session: Any) -> Any:
    """The commit time of the newest entry: every change so far, none after."""
    return (
        await session.execute(text("SELECT max(committed_at) FROM registry.change_log"))
    ).scalar_one()


def _at(moment: Any) -> dict[str, str]:
    return {"as_of": moment.isoformat()}


async def test_a_household_as_of_each_moment_between_changes(registry, villages, session):
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    county = registry.as_(Role.county_officer, XINGYI)
    before = utcnow() - timedelta(microseconds=1)
    created = (await cadre.post("/v1/households", json=household(VILLAGE_A, "AS1"))).json()
    url = f"/v1/households/{created['id']}"
    spouse = created["members"][1]

    states, moments = [], []

    async def step() -> None:
        states.append((await cadre.get(url)).json())
        moments.append(await _moment(session))

    await step()  # created
    patched = await cadre.patch(
        url, json={"address": "丰都村二组"}, headers={"If-Match": str(created["version"])}
    )
    assert patched.is_success, patched.text
    await step()
    departed = await cadre.request(
        "DELETE",
        f"/v1/members/{spouse['id']}",
        json={"reason": "moved", "departed_on": "2026-01-02"},
    )
    assert departed.is_success, departed.text
    await step()
    category = await county.put(f"{url}/category", json={"category": "ordinary", "reason": "核实"})
    assert category.is_success, category.text
    await step()

    assert len({m for m in moments}) == 4
    for i, (state, moment) in enumerate(zip(states, moments, strict=True)):
        later = moments[i + 1] if i + 1 < len(moments) else utcnow()
        for at in (moment, moment + (later - moment) / 2):
            answer = await cadre.get(url, params=_at(at))
            assert answer.status_code == 200, answer.text
            assert answer.json() == state, f"as of step {i}"
            assert int(answer.headers["Povguard-As-Of-Position"]) > 0
            assert int(answer.headers["Povguard-As-Of-Seq"]) > 0
            assert "ETag" not in answer.headers
    assert states[1]["address"] == "丰都村二组"
    assert states[2]["members"][1]["resident"] is False
    assert states[3]["category"] == "ordinary"
    # Masked for today's reader: the cadre sees masked numbers, the county full ones.
    full = (await county.get(url, params=_at(moments[0]))).json()
    assert full["members"][1]["id_number"] != states[0]["members"][1]["id_number"]
    assert "*" in states[0]["members"][1]["id_number"]

    gone = await cadre.get(url, params=_at(before))
    assert gone.status_code == 404
    elsewhere = registry.as_(Role.village_cadre, VILLAGE_B)
    assert (await elsewhere.get(url, params=_at(moments[-1]))).status_code == 404


async def test_a_village_list_as_of(registry, villages, session):
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    first = (await cadre.post("/v1/households", json=household(VILLAGE_A, "L1"))).json()
    one = await _moment(session)
    await cadre.post("/v1/households", json=household(VILLAGE_A, "L2"))
    two = await _moment(session)
    county = registry.as_(Role.county_officer, XINGYI)
    await county.put(
        f"/v1/households/{first['id']}/category", json={"category": "ordinary", "reason": "核实"}
    )
    today = (await cadre.get("/v1/households")).json()["items"]

    async def listed(moment: Any, **params: Any) -> list[dict[str, Any]]:
        response = await cadre.get("/v1/households", params={**_at(moment), **params})
        assert response.status_code == 200, response.text
        return response.json()["items"]

    assert [h["household_no"] for h in await listed(one)] == ["L1"]
    assert len(await listed(two)) == 2
    assert await listed(await _moment(session)) == today
    assert [h["household_no"] for h in await listed(two, category="ordinary")] == []
    assert len(await listed(await _moment(session), category="ordinary")) == 1
    paged = await cadre.get("/v1/households", params={**_at(two), "limit": 1})
    rest = await cadre.get(
        "/v1/households",
        params={**_at(two), "limit": 1, "cursor": paged.json()["next_cursor"]},
    )
    assert [h["id"] for h in paged.json()["items"] + rest.json()["items"]] == [
        h["id"] for h in await listed(two)
    ]


async def test_as_of_is_parsed_strictly(registry, villages):
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    for loose in ("2026-06-30", "2026-06-30T18:00:00", "1700000000", "yesterday"):
        response = await cadre.get("/v1/households", params={"as_of": loose})
        assert response.status_code == 422, loose
    future = (utcnow() + timedelta(hours=1)).isoformat()
    response = await cadre.get("/v1/households", params={"as_of": future})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "as_of.future"
    with_q = await cadre.get("/v1/households", params={"as_of": utcnow().isoformat(), "q": "王"})
    assert with_q.status_code == 422
