"""Below county level nobody sees a full ID number or a birth date, on any route that carries
a person: the mask hides birth date and sequence, and a birth date next to it (with the
region's digits) would rebuild the number. Reads, writes' answers, history, the audit log,
exports, the change feed, searches and sync answers are all walked."""

import io
import zipfile
from datetime import date

import pytest

from shared import idnumber
from shared.auth import Role
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, XINGYI, XINGYI_TOWNSHIP
from tests.registry.helpers import household, member
from tests.registry.walk import fill, get_operations, seed

MASKED_ROLES = [
    (Role.village_cadre, VILLAGE_A),
    (Role.township_officer, XINGYI_TOWNSHIP),
    (Role.department, XINGYI),
    (Role.auditor, XINGYI),
]


class People:
    """Every person the test registers: their full ID numbers and ISO birth dates."""

    def __init__(self) -> None:
        self.secrets: list[str] = []

    def new(self, born: date, sequence: int, area: str = "522301") -> str:
        number = idnumber.make(area, born, sequence)
        self.secrets += [number, born.isoformat()]
        return number

    def assert_hidden_in(self, what: str, content: bytes) -> None:
        text = content.decode("utf-8", errors="replace")
        if content.startswith(b"PK"):  # an XLSX: look inside every part of the zip
            with zipfile.ZipFile(io.BytesIO(content)) as book:
                text = "".join(book.read(name).decode("utf-8") for name in book.namelist())
        for secret in self.secrets:
            assert secret not in text, f"{what} shows {secret}: {text[:400]}"


@pytest.fixture
async def people(registry, job_ctx, villages) -> tuple[People, dict[str, str]]:
    known = People()
    seeded = await seed(
        registry,
        job_ctx,
        county=XINGYI,
        village=VILLAGE_A,
        area="522301",
        household_no="MASK-1",
        born=date(1975, 4, 3),
        sequence=211,
    )
    known.secrets += [seeded["id_number"], seeded["birth_date"]]
    officer = registry.as_(Role.county_officer, XINGYI)
    child = known.new(date(2009, 11, 23), 318)
    added = await officer.post(
        f"/v1/households/{seeded['household_id']}/members",
        json=member("child", id_number=child, name="杨小华"),
    )
    assert added.status_code == 201, added.text
    seeded["child_id"] = added.json()["id"]
    return known, seeded


async def test_masked_roles_see_no_id_number_or_birth_date_on_any_read(registry, people) -> None:
    known, seeded = people
    path_values = {
        "household_id": seeded["household_id"],
        "member_id": seeded["member_id"],
        "cadre_id": seeded["cadre_id"],
        "import_id": seeded["import_id"],
        "code": XINGYI,
        "village_code": VILLAGE_A,
        "year": "2024",
    }
    for role, region in MASKED_ROLES:
        client = registry.as_(role, region)
        served = 0
        for path, operation in get_operations(registry.app):
            url, query = fill(path, operation, path_values, {"parent": XINGYI})
            response = await client.get(url, params=query)
            assert response.status_code < 500, (role, url, response.text)
            served += response.status_code == 200
            known.assert_hidden_in(f"{role.value} GET {url}", response.content)
        book = await client.get("/v1/exports/households", params={"format": "xlsx"})
        known.assert_hidden_in(f"{role.value} xlsx export", book.content)
        for body in ({"id_number": seeded["id_number"]}, {"q": seeded["id_number"]}):
            found = await client.post("/v1/households/search", json=body)
            assert found.status_code == 200, found.text
            assert len(found.json()["items"]) == 1
            known.assert_hidden_in(f"{role.value} search", found.content)
        assert served >= 5, role


async def test_what_a_masked_reader_sees_of_a_person(registry, people) -> None:
    _, seeded = people
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    home = (await cadre.get(f"/v1/households/{seeded['household_id']}")).json()
    head = home["members"][0]
    assert head["id_number"] == seeded["id_number"][:4] + "*" * 13 + seeded["id_number"][-1]
    assert (head["birth_date"], head["birth_year"]) == (None, 1975)
    officer = registry.as_(Role.county_officer, XINGYI)
    full = (await officer.get(f"/v1/households/{seeded['household_id']}")).json()["members"][0]
    assert (full["id_number"], full["birth_date"], full["birth_year"]) == (
        seeded["id_number"],
        "1975-04-03",
        1975,
    )
    department = registry.as_(Role.department, XINGYI)
    feed = (await department.get("/v1/changes")).json()["items"]
    members = [e["data"] for e in feed if e["entity"] == "member"]
    assert members
    assert all(m["birth_date"] is None and "name" not in m for m in members)
    assert {m["birth_year"] for m in members} == {1975, 2009}
    history = (await cadre.get(f"/v1/households/{seeded['household_id']}/history")).json()
    created = [e["new"] for e in history["items"] if e["entity"] == "member"]
    assert created
    assert all(n["birth_date"] is None and n["birth_year"] for n in created)


async def test_masked_roles_see_no_id_number_or_birth_date_in_answers_to_writes(
    registry, people
) -> None:
    known, _ = people
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    township = registry.as_(Role.township_officer, XINGYI_TOWNSHIP)
    department = registry.as_(Role.department, XINGYI)
    head, spouse = known.new(date(1966, 1, 30), 415), known.new(date(1968, 7, 2), 422)
    created = await cadre.post(
        "/v1/households",
        json=household(
            VILLAGE_A,
            "MASK-2",
            members=[
                member("head", id_number=head),
                member("spouse", id_number=spouse, name="李小红"),
            ],
        ),
    )
    assert created.status_code == 201, created.text
    known.assert_hidden_in("POST /households", created.content)
    home = created.json()
    grandchild = known.new(date(2015, 2, 14), 517)
    added = await township.post(
        f"/v1/households/{home['id']}/members",
        json=member("grandchild", id_number=grandchild, name="王小宝"),
    )
    assert added.status_code == 201, added.text
    known.assert_hidden_in("POST /members", added.content)
    changed = await township.patch(
        f"/v1/members/{added.json()['id']}",
        json={"education": "小学"},
        headers={"If-Match": str(added.json()["version"])},
    )
    assert changed.status_code == 200, changed.text
    known.assert_hidden_in("PATCH /members", changed.content)
    patched = await cadre.patch(
        f"/v1/households/{home['id']}",
        json={"address": "丰都村二组"},
        headers={"If-Match": str(home["version"])},
    )
    assert patched.status_code == 200, patched.text
    known.assert_hidden_in("PATCH /households", patched.content)
    departed = await cadre.delete(
        f"/v1/members/{home['members'][1]['id']}",
        params={"reason": "moved", "departed_on": "2025-03-01"},
    )
    assert departed.status_code == 200, departed.text
    known.assert_hidden_in("DELETE /members", departed.content)
    synced = await department.post(
        "/v1/sync/households",
        json={
            "system": "civil_affairs",
            "items": [
                {
                    "external_id": "CA-MASK-3",
                    "region_code": VILLAGE_A,
                    "category": "ordinary",
                    "members": [
                        {
                            "name": "赵大",
                            "id_number": known.new(date(1959, 9, 9), 613),
                            "relation": "head",
                        }
                    ],
                }
            ],
        },
    )
    assert synced.status_code == 200, synced.text
    assert synced.json()["created"] == 1
    known.assert_hidden_in("POST /sync/households", synced.content)
    # Everything written above, read back through every list and feed.
    for role, region in MASKED_ROLES:
        client = registry.as_(role, region)
        for url in ("/v1/changes", "/v1/audit", "/v1/exports/households", "/v1/households"):
            known.assert_hidden_in(f"{role.value} {url}", (await client.get(url)).content)
        history = await client.get(f"/v1/households/{home['id']}/history")
        known.assert_hidden_in(f"{role.value} history", history.content)


async def test_a_puan_reader_learns_nothing_from_xingyis_people(registry, people) -> None:
    known, seeded = people
    for role, region in [(Role.county_officer, PUAN), (Role.village_cadre, PUAN_VILLAGE)]:
        client = registry.as_(role, region)
        found = await client.post("/v1/households/search", json={"id_number": seeded["id_number"]})
        assert found.json()["items"] == []
        known.assert_hidden_in("search from Puan", found.content)
