"""Exports fit for Excel and for a round trip (issue 22 item 9, issue 19 item 15): a file name
with the region and the day (RFC 6266, UTF-8 ``filename*``), a frozen header, widths that show
the cells, ID numbers and codes as text, birth dates as dates and months as numbers; full-width
formula starters neutralised like ASCII ones; a county officer's export of one village imports
back with nothing rejected and nothing changed."""

import csv
import io
from datetime import datetime
from urllib.parse import quote

from openpyxl import load_workbook

from povguard import demo
from services.registry.imports.jobs import import_ledger
from shared import clock
from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI, ApiClient


async def _reimport(registry: ApiClient, job_ctx, role, region, name: str, content: bytes) -> dict:
    client = registry.as_(role, region)
    response = await client.post(
        "/v1/imports", files={"file": (name, content)}, data={"kind": "households"}
    )
    assert response.status_code == 202, response.text
    import_id = response.json()["import_id"]
    await import_ledger(job_ctx, import_id)
    return (await client.get(f"/v1/imports/{import_id}")).json()


async def test_the_file_is_named_by_region_kind_and_day(registry: ApiClient, villages) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    day = clock.today().isoformat()
    for extension in ("xlsx", "csv"):
        answer = await officer.get("/v1/exports/households", params={"format": extension})
        assert answer.status_code == 200
        name = f"兴义市_户籍台账_{day}.{extension}"
        assert answer.headers["content-disposition"] == (
            f'attachment; filename="522301000000_households_{day}.{extension}"; '
            f"filename*=UTF-8''{quote(name)}"
        )
    village = await officer.get("/v1/exports/households", params={"region": VILLAGE_A})
    assert quote(f"丰都村_户籍台账_{day}.csv") in village.headers["content-disposition"]


async def test_the_workbook_reads_well_in_excel(registry: ApiClient, villages) -> None:
    from tests.registry.helpers import household, member

    officer = registry.as_(Role.county_officer, XINGYI)
    head = member("head", migrant_work_months=7)
    created = await officer.post("/v1/households", json=household(VILLAGE_A, "X-1", [head]))
    assert created.status_code == 201, created.text
    book = await officer.get("/v1/exports/households", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["证件号码"].value == head["id_number"]
    assert row["证件号码"].data_type == "s"
    assert row["证件号码"].number_format == "@"
    assert row["户编号"].number_format == "@"
    assert isinstance(row["出生日期"].value, datetime)
    assert row["出生日期"].number_format == "yyyy-mm-dd"
    assert row["务工时间(月)"].value == 7
    widths = {
        sheet.cell(1, i + 1).value: sheet.column_dimensions[c].width
        for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVW")
    }
    assert widths["证件号码"] >= 20
    assert widths["城乡居民基本医疗保险"] >= 20  # the header shows whole
    assert min(widths.values()) >= 8

    township = registry.as_(Role.township_officer, "522301100000")
    masked = await township.get("/v1/exports/households", params={"format": "xlsx"})
    row2 = next(load_workbook(io.BytesIO(masked.content)).active.iter_rows(min_row=2))
    values = {h: c.value for h, c in zip(header, row2, strict=True)}
    assert "*************" in values["证件号码"]
    assert isinstance(values["出生日期"], int)  # the year alone, as a number


async def test_full_width_formula_starters_are_neutralised_and_reimport_unchanged(
    registry: ApiClient, job_ctx, villages
) -> None:
    from tests.registry.helpers import household, member

    address = '＝HYPERLINK("http://evil.example","点击")'
    officer = registry.as_(Role.county_officer, XINGYI)
    body = household(
        VILLAGE_A,
        "＠FW-1",
        [member("head", name="－王小明"), member("child", name="＋李小红")],
        address=address,
    )
    created = await officer.post("/v1/households", json=body)
    assert created.status_code == 201, created.text
    exported = await officer.get("/v1/exports/households", params={"format": "csv"})
    cells = [c for r in csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))) for c in r]
    assert not [c for c in cells if c[:1] in ("＝", "＋", "－", "＠")]
    assert {"'" + address, "'＠FW-1", "'－王小明", "'＋李小红"} <= set(cells)
    book = await officer.get("/v1/exports/households", params={"format": "xlsx"})
    values = [c.value for r in load_workbook(io.BytesIO(book.content)).active for c in r]
    assert "'" + address in values
    for name, content in (("x.csv", exported.content), ("x.xlsx", book.content)):
        result = await _reimport(registry, job_ctx, Role.county_officer, XINGYI, name, content)
        assert (result["rows_read"], result["unchanged"], result["rejected"]) == (2, 2, 0), result
    again = (await officer.get(f"/v1/households/{created.json()['id']}")).json()
    assert again["address"] == address
    assert [m["name"] for m in again["members"]] == ["－王小明", "＋李小红"]


async def test_a_county_officers_export_of_a_village_imports_back_unchanged(
    registry: ApiClient, job_ctx, session_maker
) -> None:
    await demo.load_with(session_maker, households=20, year=2025)
    officer = registry.as_(Role.county_officer, XINGYI)
    regions = (await officer.get("/v1/households", params={"limit": 1})).json()["items"]
    village = regions[0]["region_code"]
    for extension in ("xlsx", "csv"):
        exported = await officer.get(
            "/v1/exports/households", params={"format": extension, "region": village}
        )
        assert exported.status_code == 200
        before = exported.content
        result = await _reimport(
            registry, job_ctx, Role.county_officer, XINGYI, f"v.{extension}", before
        )
        assert result["rejected"] == 0, result
        assert result["accepted"] == 0, result
        assert result["unchanged"] == result["rows_read"] > 0, result
        again = await officer.get(
            "/v1/exports/households", params={"format": "csv", "region": village}
        )
        if extension == "csv":
            assert again.content == before  # nothing changed
