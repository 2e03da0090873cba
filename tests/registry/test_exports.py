"""Exports stream the import template's columns, so an export imports again as unchanged."""

import csv
import io

from openpyxl import load_workbook

from povguard import demo
from services.registry.imports.template import HOUSEHOLD_COLUMNS
from services.registry.jobs import import_ledger
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
