"""Self-declarations: no login, the same answer for anyone, rate-limited per sender, reviewed
by officials who accept them into a case or not."""

import socket
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from uuid import uuid4

import httpx
import pytest
from redis.asyncio import Redis

from shared import idnumber
from shared.auth import Role
from shared.registry_client import RegistryClient
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, VILLAGE_B, XINGYI, XINGYI_TOWNSHIP


@pytest.fixture(autouse=True)
async def fresh_limits(queue: Any, settings: Any) -> AsyncIterator[None]:
    """Rate-limit buckets live in the shared Redis: each test starts and ends without any."""

    async def clear() -> None:
        async for key in queue.scan_iter(match=f"povguard:rate:{settings.queue_name}:declare:*"):
            await queue.delete(key)

    await clear()
    yield
    await clear()


def _body(number: str, phone: str = "13800001234", village: str = VILLAGE_A) -> dict[str, str]:
    return {
        "name": "张三",
        "id_number": number,
        "phone": phone,
        "village_code": village,
        "reason": "illness",
        "description": "家人重病住院",
    }


def _person(sequence: int, area: str = "522301") -> str:
    return idnumber.make(area, date(1980, 6, 1), sequence)


async def _declarations(client: Any, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/declarations", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _act(client: Any, declaration_id: str, status: int = 200, **body: Any) -> Any:
    response = await client.post(f"/v1/declarations/{declaration_id}/actions", json=body)
    assert response.status_code == status, response.text
    return response.json()


async def test_a_declaration_answers_the_same_for_anyone(monitoring, feed, villages) -> None:
    registered = await feed.household(VILLAGE_A)
    answers = [
        await monitoring.post("/v1/declarations", json=body)
        for body in (
            _body(registered["id_numbers"][0], phone="13800000001"),
            _body(_person(17), phone="13800000002"),  # nobody the registry knows
            # ...naming a village that does not exist
            _body(_person(19), phone="13800000003", village="522301100099"),
            # ...and one of another county
            _body(_person(21), phone="13800000004", village=PUAN_VILLAGE),
        )
    ]
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert {tuple(sorted(a.json())) for a in answers} == {("tracking_code",)}
    assert len({a.headers["content-length"] for a in answers}) == 1
    for answer in answers:
        code = answer.json()["tracking_code"]
        status = await monitoring.get(f"/v1/declarations/{code}")
        assert status.json() == {"tracking_code": code, "stage": "received"}
    # Nothing is decided on the public page: no case opens until an official accepts one.
    county = monitoring.as_(Role.county_officer, XINGYI)
    assert (await county.get("/v1/cases")).json()["items"] == []
    assert len(await _declarations(county)) == 3


async def test_tracking_codes_are_unguessable(monitoring, villages) -> None:
    codes = set()
    for i in range(5):
        response = await monitoring.post(
            "/v1/declarations", json=_body(_person(30 + i), phone=f"1380000100{i}")
        )
        codes.add(response.json()["tracking_code"])
    assert len(codes) == 5
    for code in codes:
        # At least 16 symbols of a 32-symbol alphabet after the prefix: 80 random bits.
        assert code.startswith("FP")
        assert len(code) >= 18
        assert set(code[2:]) <= set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")


async def test_the_status_shows_the_declarations_own_progress_only(monitoring, feed) -> None:
    household = await feed.household(VILLAGE_A)
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    opened = await cadre.post(
        "/v1/cases", json={"household_id": str(household["id"]), "channel": "cadre"}
    )
    case_id = opened.json()["id"]
    verified = await cadre.post(f"/v1/cases/{case_id}/actions", json={"action": "verify"})
    assert verified.json()["stage"] == "verified"

    # A member of that household declares: the page says received, not the case's stage.
    response = await monitoring.post("/v1/declarations", json=_body(household["id_numbers"][1]))
    code = response.json()["tracking_code"]
    assert (await monitoring.get(f"/v1/declarations/{code}")).json()["stage"] == "received"

    (declaration,) = await _declarations(cadre)
    assert declaration["household_id"] == str(household["id"])
    assert declaration["status"] == "received"
    taken = await _act(cadre, declaration["id"], action="review")
    assert taken["status"] == "under_review"
    assert (await monitoring.get(f"/v1/declarations/{code}")).json()["stage"] == "under_review"

    # Accepted into the household's open case (no second case), still only "accepted".
    accepted = await _act(cadre, declaration["id"], action="accept", note="已并入")
    assert accepted["case_id"] == case_id
    assert (await monitoring.get(f"/v1/declarations/{code}")).json() == {
        "tracking_code": code,
        "stage": "accepted",
    }
    county = monitoring.as_(Role.county_officer, XINGYI)
    assert [c["id"] for c in (await county.get("/v1/cases")).json()["items"]] == [case_id]
    # Decided once: a second decision is a conflict.
    await _act(cadre, declaration["id"], 409, action="dismiss", note="重复")
    assert (await monitoring.get("/v1/declarations/FPNOSUCHCODE")).status_code == 404


async def test_officials_review_declarations_of_their_region_only(monitoring, villages) -> None:
    declared = await monitoring.post("/v1/declarations", json=_body(_person(40)))
    code = declared.json()["tracking_code"]
    township = monitoring.as_(Role.township_officer, XINGYI_TOWNSHIP)
    (declaration,) = await _declarations(township)
    # Below the county the ID number is masked; there is no birth date anywhere.
    assert declaration["id_number"] == idnumber.mask(_person(40))
    assert "birth_date" not in declaration
    assert (await _declarations(monitoring.as_(Role.county_officer, XINGYI)))[0][
        "id_number"
    ] == _person(40)

    # Another county neither lists it nor can act on it: 404 exactly as for no declaration.
    puan = monitoring.as_(Role.county_officer, PUAN)
    assert await _declarations(puan) == []
    foreign = await puan.post(
        f"/v1/declarations/{declaration['id']}/actions", json={"action": "dismiss", "note": "x"}
    )
    missing = await puan.post(
        f"/v1/declarations/{uuid4()}/actions", json={"action": "dismiss", "note": "x"}
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    # Nor may a department, nor the public.
    dept = monitoring.as_(Role.department, XINGYI)
    assert (await dept.get("/v1/declarations")).status_code == 403
    assert (await monitoring.get("/v1/declarations")).status_code == 401

    # Dismissing says why; the declarant sees "not accepted" and nothing more.
    await _act(township, declaration["id"], 422, action="dismiss")
    dismissed = await _act(township, declaration["id"], action="dismiss", note="经核实不符合")
    assert dismissed["status"] == "not_accepted"
    status = await monitoring.get(f"/v1/declarations/{code}")
    assert status.json() == {"tracking_code": code, "stage": "not_accepted"}


async def test_accepting_an_unknown_declarant_needs_a_real_village(monitoring, villages) -> None:
    await monitoring.post("/v1/declarations", json=_body(_person(50), village="522301100099"))
    county = monitoring.as_(Role.county_officer, XINGYI)
    (declaration,) = await _declarations(county)
    refused = await _act(county, declaration["id"], 422, action="accept")
    assert [e["field"] for e in refused["errors"]] == ["village_code"]
    # A household of another county cannot be named to move the case there.
    puan_household = uuid4()
    await _act(county, declaration["id"], 404, action="accept", household_id=str(puan_household))
    assert (await county.get("/v1/cases")).json()["items"] == []


async def test_declarations_are_validated_and_rate_limited(monitoring, villages) -> None:
    person = _person(41)
    bad_id = await monitoring.post(
        "/v1/declarations", json=_body(person[:-1] + ("0" if person[-1] != "0" else "1"))
    )
    assert bad_id.status_code == 422
    bad_village = await monitoring.post("/v1/declarations", json=_body(person, village=XINGYI))
    assert bad_village.status_code == 422
    statuses = [
        (
            await monitoring.post("/v1/declarations", json=_body(person, phone="13900009999"))
        ).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [201] * 5
    assert statuses[5] == 429
    # Per ID number as well: another phone does not make room for the same person.
    other_phone = await monitoring.post("/v1/declarations", json=_body(person, phone="13900008888"))
    assert other_phone.status_code == 429
    assert int(other_phone.headers["retry-after"]) >= 1


async def _flood(monitoring: Any, count: int, start: int, **headers: str) -> list[int]:
    return [
        (
            await monitoring.post(
                "/v1/declarations",
                json=_body(_person(100 + start + i), phone=f"139{start + i:08d}"),
                headers=headers,
            )
        ).status_code
        for i in range(count)
    ]


async def test_x_forwarded_for_counts_only_from_trusted_proxies(
    monitoring, settings, villages
) -> None:
    # No trusted proxy: the header is the client's own invention and changes nothing.
    spoofed = [
        (
            await monitoring.post(
                "/v1/declarations",
                json=_body(_person(200 + i), phone=f"137{i:08d}"),
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
            )
        ).status_code
        for i in range(31)
    ]
    assert spoofed[:30] == [201] * 30
    assert spoofed[30] == 429

    # Behind our own proxy (the ASGI peer, 127.0.0.1) each forwarded client has its bucket:
    # one flooding client is stopped, another from the same proxy still declares.
    monitoring.app.state.settings = settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    flood = await _flood(monitoring, 31, 300, **{"X-Forwarded-For": "203.0.113.7"})
    assert flood[:30] == [201] * 30
    assert flood[30] == 429
    other = await _flood(monitoring, 1, 400, **{"X-Forwarded-For": "203.0.113.8"})
    assert other == [201]


async def test_one_sender_cannot_close_the_channel_for_a_county(monitoring, villages) -> None:
    # An attacker fills their own address's bucket with declarations for one village...
    flood = await _flood(monitoring, 31, 500)
    assert flood[30] == 429
    # ...and the village's own people still get through from their own addresses.
    monitoring.app.state.settings = monitoring.app.state.settings.model_copy(
        update={"trusted_proxies": "127.0.0.1"}
    )
    for i in range(3):
        neighbour = await monitoring.post(
            "/v1/declarations",
            json=_body(_person(600 + i), phone=f"136{i:08d}"),
            headers={"X-Forwarded-For": f"192.0.2.{i + 1}"},
        )
        assert neighbour.status_code == 201, neighbour.text


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_public_route_refuses_while_redis_is_down(monitoring, villages) -> None:
    down = Redis.from_url(f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=0.5)
    monitoring.app.state.arq = down
    try:
        response = await monitoring.post("/v1/declarations", json=_body(_person(700)))
        assert response.status_code == 503, response.text
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["content-type"].startswith("application/problem+json")
        lookup = await monitoring.get("/v1/declarations/FPAAAAAAAAAAAAAAAA")
        assert lookup.status_code == 503
    finally:
        await down.aclose()
    county = monitoring.as_(Role.county_officer, XINGYI)
    assert await _declarations(county) == []


async def test_an_accepted_declaration_is_kept_while_the_registry_is_down(
    monitoring, settings
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    http = httpx.AsyncClient(transport=httpx.MockTransport(down))
    monitoring.app.state.registry_client = RegistryClient(http, settings, base_url="http://r")
    response = await monitoring.post("/v1/declarations", json=_body(_person(19)))
    assert response.status_code == 201
    code = response.json()["tracking_code"]
    county = monitoring.as_(Role.county_officer, XINGYI)
    (declaration,) = await _declarations(county)
    accepted = await _act(county, declaration["id"], action="accept")
    assert accepted["case_id"] is not None
    assert (await monitoring.get(f"/v1/declarations/{code}")).json()["stage"] == "accepted"
    await http.aclose()


async def _accepted_case(monitoring: Any, number: str, phone: str = "13800001234") -> str:
    declared = await monitoring.post("/v1/declarations", json=_body(number, phone=phone))
    assert declared.status_code == 201, declared.text
    county = monitoring.as_(Role.county_officer, XINGYI)
    (declaration,) = await _declarations(county, status="received")
    return (await _act(county, declaration["id"], action="accept"))["case_id"]


async def test_a_declarant_registered_later_brings_their_household_to_the_case(
    monitoring, feed, villages
) -> None:
    # Not in the registry yet: the accepted case opens without a household.
    number = idnumber.make(VILLAGE_A, date(1980, 1, 1), 500)
    case_id = await _accepted_case(monitoring, number)
    county = monitoring.as_(Role.county_officer, XINGYI)
    (case,) = (await county.get("/v1/cases")).json()["items"]
    assert case["id"] == case_id
    assert case["household_id"] is None

    # The village registers the household (the projection sees it), then verifies the case.
    household = await feed.household(VILLAGE_A, sequence=500)
    assert household["id_numbers"][0] == number
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    verified = await cadre.post(f"/v1/cases/{case_id}/actions", json={"action": "verify"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["household_id"] == str(household["id"])


async def test_a_declarant_registered_in_another_county_stays_out_of_the_case(
    monitoring, feed, villages
) -> None:
    number = idnumber.make(PUAN_VILLAGE, date(1980, 1, 1), 600)
    case_id = await _accepted_case(monitoring, number, phone="13800006000")
    # The person turns up registered in Puan, another county.
    household = await feed.household(PUAN_VILLAGE, sequence=600)
    assert household["id_numbers"][0] == number
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    verified = await cadre.post(f"/v1/cases/{case_id}/actions", json={"action": "verify"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["household_id"] is None
    # Puan now sees the declaration of its registered person, with its own household and
    # nothing of Xingyi's case; Xingyi sees no Puan household.
    puan = monitoring.as_(Role.county_officer, PUAN)
    (seen,) = await _declarations(puan)
    assert seen["household_id"] == str(household["id"])
    assert seen["case_id"] is None
    (xingyi_seen,) = await _declarations(monitoring.as_(Role.county_officer, XINGYI))
    assert xingyi_seen["household_id"] is None
    assert xingyi_seen["case_id"] == case_id
    # Puan still opens its own case for its household.
    opened = await puan.post(
        "/v1/cases", json={"household_id": str(household["id"]), "channel": "cadre"}
    )
    assert opened.status_code == 201, opened.text


async def test_a_case_never_moves_out_of_the_actors_region(monitoring, feed, villages) -> None:
    """A declaration case in village A whose declarant is registered in village B: the
    village A cadre's action must not carry the case (and its household) into village B."""
    number = idnumber.make(VILLAGE_B, date(1980, 1, 1), 650)
    case_id = await _accepted_case(monitoring, number, phone="13800006500")
    household = await feed.household(VILLAGE_B, sequence=650)
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    verified = await cadre.post(f"/v1/cases/{case_id}/actions", json={"action": "verify"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["region_code"] == VILLAGE_A
    assert verified.json()["household_id"] is None
    assert str(household["id"]) not in verified.text
    assert (await cadre.get(f"/v1/cases/{case_id}")).status_code == 200
    # The township, whose region holds both villages, will take the household in with its
    # review; until then village B's cadre does not see village A's case.
    township = monitoring.as_(Role.township_officer, XINGYI_TOWNSHIP)
    assert (await township.get(f"/v1/cases/{case_id}")).status_code == 200
    cadre_b = monitoring.as_(Role.village_cadre, VILLAGE_B)
    assert (await cadre_b.get(f"/v1/cases/{case_id}")).status_code == 404


async def test_nobody_can_close_the_channel_for_someone_else(monitoring, villages) -> None:
    """Issue 19.12: a flood naming someone's ID number (and even their phone) stops the
    flooder's address, never the person it names."""
    monitoring.app.state.settings = monitoring.app.state.settings.model_copy(
        update={"trusted_proxies": "127.0.0.1"}
    )
    victim, victim_phone = _person(700), "13512345678"
    attacker = {"X-Forwarded-For": "203.0.113.50"}
    flood = [
        (
            await monitoring.post(
                "/v1/declarations",
                json=_body(victim, phone=victim_phone if i % 2 else f"138{i:08d}"),
                headers=attacker,
            )
        ).status_code
        for i in range(12)
    ]
    assert flood[:5] == [201] * 5
    assert 429 in flood[5:]  # abuse still costs the abuser
    own = await monitoring.post(
        "/v1/declarations",
        json=_body(victim, phone=victim_phone),
        headers={"X-Forwarded-For": "192.0.2.70"},
    )
    assert own.status_code == 201, own.text
