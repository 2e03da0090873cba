"""Self-declarations in monitoring's feed: each declaration's state as an official reads it
in ``GET /v1/declarations`` (version, masking and all), and none of it for a department,
who reads no declarations."""

from typing import Any

from shared import idnumber
from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI
from tests.monitoring.test_declarations import _act, _body, _declarations, _person
from tests.monitoring.test_declarations import fresh_limits as fresh_limits
from tests.monitoring.test_feed import _replica

NEIGHBOUR = _person(41)
# Free text naming another person's ID and phone numbers: masked below the county.
DESCRIPTION = f"邻居{NEIGHBOUR}可作证, 电话13912345678"


async def test_a_replica_of_declarations_from_the_feed_equals_get_masked_per_role(
    monitoring: Any, feed: Any, villages: Any
) -> None:
    officer = monitoring.as_(Role.county_officer, XINGYI)
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    dept = monitoring.as_(Role.department, XINGYI)
    before = (await officer.get("/v1/changes/position")).json()["position"]
    dept_before = (await dept.get("/v1/changes/position")).json()["position"]
    registered = await feed.household(VILLAGE_A)
    sent = [
        {**_body(registered["id_numbers"][0], phone="13800000011"), "description": DESCRIPTION},
        _body(_person(43), phone="13800000012"),
    ]
    for body in sent:
        assert (await monitoring.post("/v1/declarations", json=body)).status_code == 201
    first, second = sorted(await _declarations(officer), key=lambda d: d["phone"])
    assert first["version"] == 1
    await _act(cadre, first["id"], action="review")
    accepted = await _act(officer, first["id"], action="accept")
    dismissed = await _act(cadre, second["id"], action="dismiss", note=f"查无此人 {NEIGHBOUR}")
    assert (accepted["version"], dismissed["version"]) == (3, 2)

    page = (await officer.get("/v1/changes", params={"after": before})).json()
    steps = [(e["op"], e["data"]["version"]) for e in page["items"] if e["entity"] == "declaration"]
    assert steps == [
        ("received", 1),
        ("received", 1),
        ("reviewed", 2),
        ("accepted", 3),
        ("dismissed", 2),
    ]
    # Each reader's replica equals its own GET: whole for the county, the ID numbers (also
    # those in the free text) masked for an auditor, as GET masks them.
    auditor = monitoring.as_(Role.auditor, XINGYI)
    province = monitoring.as_(Role.province_admin, "520000000000")
    for reader in (officer, auditor, province):
        replica = await _replica(reader)
        listed = await _declarations(reader)
        assert len(listed) == 2
        assert all(replica[d["id"]] == d for d in listed)  # field for field
    masked = {d["id"]: d for d in await _declarations(auditor)}
    assert NEIGHBOUR not in masked[first["id"]]["description"]
    assert idnumber.mask(NEIGHBOUR) in masked[first["id"]]["description"]
    assert masked[first["id"]]["case_id"] == accepted["case_id"] is not None

    # A department reads monitoring's feed but no declarations: none of their events, and its
    # position is its own feed's last event (a cursor reaching it has seen all it may).
    assert (await dept.get("/v1/declarations")).status_code == 403
    events: list[dict[str, Any]] = []
    after = dept_before
    while (page := (await dept.get("/v1/changes", params={"after": after})).json())["items"]:
        events += page["items"]
        after = page["next_cursor"]
    assert events  # the case the acceptance opened
    assert {e["entity"] for e in events} == {"case"}
    assert (await dept.get("/v1/changes/position")).json()["position"] == after
