"""Ledgers as officials really make them (issue 10 item 6): a title row and a unit row above
the header, ID numbers Excel stored as numbers, several sheets, dates typed every which way,
no ``kind`` sent; reasons in Chinese by default and English on request; a dry run."""

import io
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from sqlalchemy import text

from services.registry.imports.jobs import import_ledger
from services.registry.imports.template import ECONOMICS_COLUMNS
from shared import idnumber
from shared.auth import Role
from tests.conftest import XINGYI
from tests.registry.test_imports import HEADERS, count, csv_bytes, ids, member, reasons

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
TITLE = "兴义市某某村脱贫户信息台账"
ECONOMICS = [c.header for c in ECONOMICS_COLUMNS]
UNIT = "填报单位：某某村民委员会            填报日期：2025年3月1日"


def ledger(
    rows: list[list[Any]],
    *,
    above: list[list[Any]] | None = None,
    headers: list[str] = HEADERS,
    sheets: list[tuple[str, list[list[Any]]]] | None = None,
) -> bytes:
    """A workbook as a village makes it: a title row, a unit/date row, then the table (on the
    sheet named 台账, after any ``sheets`` given first)."""
    book = Workbook()
    book.remove(book.active)
    for name, content in sheets or []:
        other = book.create_sheet(name)
        for row in content:
            other.append(row)
    sheet = book.create_sheet("台账")
    for row in [[TITLE], [UNIT]] if above is None else above:
        sheet.append(row)
    if above is None:
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(
    registry,
    job_ctx,
    content: bytes,
    filename: str = "台账.xlsx",
    kind: str | None = "households",
    headers: dict[str, str] | None = None,
) -> dict:
    client = registry.as_(Role.county_officer, XINGYI)
    data = {"kind": kind} if kind else {}
    response = await client.post("/v1/imports", files={"file": (filename, content)}, data=data)
    assert response.status_code == 202, response.text
    import_id = response.json()["import_id"]
    await import_ledger(job_ctx, import_id)
    result = await client.get(f"/v1/imports/{import_id}", headers=headers or {})
    assert result.status_code == 200
    return result.json()


async def test_the_header_is_found_below_title_and_unit_rows_and_rows_keep_their_numbers(
    registry, job_ctx, villages, session
) -> None:
    a, b, c = ids(3)
    bad = member("H2", c)
    bad[11] = "出生日期写错"
    content = ledger([member("H1", a), member("H1", b, "配偶"), bad])
    result = await upload(registry, job_ctx, content)
    assert result["status"] == "done", result["error"]
    assert (result["rows_read"], result["accepted"], result["rejected"]) == (3, 2, 1)
    # The header is the sheet's row 3: the rows are 4, 5 and 6, as the official sees them.
    assert list(reasons(result)) == [(6, "出生日期")]
    assert await count(session, "members") == 2
    # A blank row and a longer preamble (up to the 10th row) are skipped too.
    (d,) = ids(1, area="522322")
    above = [[TITLE], [], ["单位：元"], ["", "说明：一户多人的，每人一行"]]
    result = await upload(registry, job_ctx, ledger([member("H3", d)], above=above))
    assert (result["status"], result["accepted"]) == ("done", 1)


async def test_a_header_below_the_tenth_row_is_not_looked_for(registry, job_ctx, villages) -> None:
    (a,) = ids(1)
    content = ledger([member("H1", a)], above=[[f"说明{i}"] for i in range(10)])
    result = await upload(registry, job_ctx, content)
    assert result["status"] == "failed"
    assert result["error"].startswith("the file lacks the required headers: 户编号")
    assert result["error_code"] == "import.missing_headers"


async def test_an_id_number_excel_stored_as_a_number_is_refused_saying_how_to_fix_the_column(
    registry, job_ctx, villages, session
) -> None:
    a, b, c, d = ids(4)
    numeric = member("N1", a)
    numeric[8] = int(a[:17] + "0")  # a number cell, as Excel keeps a typed ID number
    result = await upload(registry, job_ctx, ledger([numeric, member("N2", b)]))
    assert (result["accepted"], result["rejected"]) == (1, 1)
    (row,) = [r for r in result["rejected_rows"] if r["column"] == "证件号码"]
    assert row["row_no"] == 4
    assert row["code"] == "id_number.excel_number"
    assert "Excel stored this ID number as a number (5.22301E+17)" in row["reason"]
    # How to fix the column is said once, for the whole import.
    (notice,) = result["notices"]
    assert notice["code"] == "import.excel_numbers"
    assert "format the 证件号码 column as text" in notice["message"]
    # In a CSV Excel saved: the scientific notation it shows, or the digits it kept (the
    # last three turned to zeros).
    sci, zeros = member("N3", c), member("N4", d)
    sci[8], zeros[8] = "5.22301E+17", d[:15] + "000"
    result = await upload(registry, job_ctx, csv_bytes([sci, zeros]), "台账.csv", headers=ZH)
    why = {r["row_no"]: r for r in result["rejected_rows"] if r["column"] == "证件号码"}
    assert {r["code"] for r in why.values()} == {"id_number.excel_number"}
    assert why[2]["reason"].startswith("Excel 把这个证件号码存成了数字（5.22301E+17）")
    assert "设置为文本格式" in result["notices"][0]["message"]
    assert await count(session, "members") == 1


async def test_reasons_are_chinese_by_default_english_on_request_and_carry_codes(
    registry, job_ctx, villages
) -> None:
    a, b, c = ids(3)
    wrong = a[:-1] + ("0" if a[-1] != "0" else "1")
    rows = [member("C1", wrong), member("C1", c, "配偶"), member("C2", b, region="522301100999")]
    client = registry.as_(Role.county_officer, XINGYI)
    response = await client.post(
        "/v1/imports", files={"file": ("台账.xlsx", ledger(rows))}, data={"kind": "households"}
    )
    import_id = response.json()["import_id"]
    await import_ledger(job_ctx, import_id)
    del client.headers["Accept-Language"]  # no header: Chinese
    zh = {
        (r["row_no"], r["column"]): r
        for r in (await client.get(f"/v1/imports/{import_id}")).json()["rejected_rows"]
    }
    en_body = (
        await client.get(f"/v1/imports/{import_id}", headers={"Accept-Language": "en"})
    ).json()
    en = {(r["row_no"], r["column"]): r for r in en_body["rejected_rows"]}
    expected = idnumber_check(wrong)
    assert zh[(4, "证件号码")]["reason"] == f"校验码不符（应为 {expected}）"
    assert en[(4, "证件号码")]["reason"] == f"check character does not match (expected {expected})"
    assert zh[(4, "证件号码")]["code"] == en[(4, "证件号码")]["code"] == "id_number.checksum"
    assert zh[(6, "行政区划代码")]["reason"] == "未知的行政区划代码 522301100999"
    assert en[(6, "行政区划代码")]["reason"] == "unknown region code 522301100999"
    assert zh[(6, "行政区划代码")]["code"] == "region.unknown"
    assert zh[(5, "户编号")]["reason"] == "户 C1 整户未导入：该户的其他行有错误"

    # A failed file's reason too, on the import and in the list.
    broken = ledger([member("C3", b)], headers=[h for h in HEADERS if h != "证件号码"])
    failed = await upload(registry, job_ctx, broken, headers=ZH)
    assert failed["status"] == "failed"
    assert failed["error"].startswith("文件缺少必需的表头：证件号码（找到的表头：户编号"), failed
    assert failed["error_code"] == "import.missing_headers"
    listed = (await client.get("/v1/imports")).json()["items"]
    assert listed[0]["error"] == failed["error"]
    listed = (await client.get("/v1/imports", headers={"Accept-Language": "en"})).json()["items"]
    assert listed[0]["error"].startswith("the file lacks the required headers: 证件号码 (")


async def test_a_dry_run_reports_what_the_import_then_does_and_writes_nothing(
    registry, job_ctx, villages, session
) -> None:
    a, b, c, d = ids(4)
    wrong = c[:-1] + ("0" if c[-1] != "0" else "1")
    numeric = member("D3", d)
    numeric[8] = int(d[:17] + "0")
    content = ledger([member("D1", a), member("D1", b, "配偶"), member("D2", wrong), numeric])
    client = registry.as_(Role.county_officer, XINGYI)
    tables = ["households", "members", "change_log", "imports"]
    before = [await count(session, t) for t in tables]

    async def dry() -> dict:
        response = await client.post(
            "/v1/imports?dry_run=true", files={"file": ("台账.xlsx", content)}, data={}
        )
        assert response.status_code == 200, response.text
        return response.json()

    checked = await dry()
    assert [await count(session, t) for t in tables] == before
    assert (checked["dry_run"], checked["kind"]) == (True, "households")
    assert (checked["rows_read"], checked["accepted"], checked["rejected"]) == (4, 2, 2)
    real = await upload(registry, job_ctx, content)
    for key in ("rows_read", "accepted", "rejected", "unchanged", "rejected_rows"):
        assert checked[key] == real[key], key
    assert {(r["row_no"], r["code"]) for r in real["rejected_rows"]} == {
        (6, "id_number.checksum"),
        (7, "id_number.excel_number"),
    }
    assert await count(session, "members") == 2
    # Again after the import: the same two rows would now change nothing.
    again = await dry()
    assert (again["accepted"], again["unchanged"], again["rejected"]) == (0, 2, 2)
    # A file that cannot be read is a 422 naming why, in the reader's language.
    response = await client.post(
        "/v1/imports?dry_run=true",
        files={"file": ("台账.csv", "姓名,证件号码\n张三,1\n".encode())},
        data={"kind": "households"},
        headers=ZH,
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["code"] == "import.missing_headers"
    assert problem["errors"][0]["message"].startswith("文件缺少必需的表头：户编号")


async def test_dates_as_ledgers_type_them_and_excel_serials_are_read(
    registry, job_ctx, villages, session
) -> None:
    born = date(1990, 1, 1)
    numbers = [idnumber.make("522301", born, 11 + 2 * i) for i in range(8)]
    forms: list[Any] = [
        "1990.01.01",
        "1990/1/1",
        "1990年1月1日",
        "1990-01-01",
        "19900101",
        32874,  # Excel's serial of 1990-01-01, in a cell formatted as a number
        datetime(1990, 1, 1),  # a real date cell
    ]
    rows = []
    for i, form in enumerate(forms):
        cells = member(f"T{i}", numbers[i])
        cells[11] = form
        rows.append(cells)
    bad = member("T9", numbers[7])
    bad[11] = "1990年13月1日"
    result = await upload(registry, job_ctx, ledger([*rows, bad]), headers=ZH)
    assert (result["accepted"], result["rejected"]) == (len(forms), 1)
    (row,) = result["rejected_rows"]
    assert (row["row_no"], row["column"], row["code"]) == (11, "出生日期", "date.unreadable")
    assert row["reason"].startswith("'1990年13月1日' 不是日期：请写成 1990-01-01")
    stored = (
        await session.execute(text("SELECT DISTINCT birth_date FROM registry.members"))
    ).scalars()
    assert list(stored) == [born]


async def test_kind_is_inferred_from_the_headers_and_unknown_headers_are_a_clear_422(
    registry, job_ctx, villages, session
) -> None:
    (a,) = ids(1)
    households = await upload(registry, job_ctx, ledger([member("K1", a)]), kind=None)
    assert (households["kind"], households["accepted"]) == ("households", 1)
    economics_rows = [["K1", "2024", "12000", "0", "0", "0", "0", "0", "0", "0"]]
    economics = ledger(economics_rows, headers=ECONOMICS, above=[["2024年度收支台账"]])
    result = await upload(registry, job_ctx, economics, kind=None)
    assert (result["kind"], result["status"], result["accepted"]) == ("economics", "done", 1)

    client = registry.as_(Role.county_officer, XINGYI)
    del client.headers["Accept-Language"]
    unknown = ledger([["张三", "1"]], headers=["姓名", "身份证"])
    response = await client.post("/v1/imports", files={"file": ("台账.xlsx", unknown)})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == ("kind", "import.kind_unknown")
    assert "既不是户籍台账" in error["message"]
    both = ledger([], headers=[*HEADERS, *ECONOMICS[1:]])
    response = await client.post("/v1/imports", files={"file": ("台账.xlsx", both)})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "import.kind_ambiguous"
    assert await count(session, "imports") == 2


async def test_the_sheet_whose_headers_match_is_read_or_the_sheets_found_are_named(
    registry, job_ctx, villages, session
) -> None:
    (a,) = ids(1)
    notes = ("填表说明", [["1. 一户多人的，每人一行"], ["2. 证件号码列请设为文本格式"]])
    summary: tuple[str, list[list[Any]]] = ("汇总", [["村名", "户数"], ["某某村", 1]])
    content = ledger([member("S1", a)], sheets=[notes, summary])
    result = await upload(registry, job_ctx, content, kind=None)
    assert (result["status"], result["accepted"]) == ("done", 1)
    assert list(reasons(result)) == []

    book = Workbook()
    book.active.title = "填表说明"
    book.active.append(["说明"])
    book.create_sheet("汇总").append(["村名", "户数"])
    out = io.BytesIO()
    book.save(out)
    failed = await upload(registry, job_ctx, out.getvalue(), headers=ZH)
    assert failed["status"] == "failed"
    assert failed["error_code"] == "import.no_matching_sheet"
    assert failed["error"] == (
        "工作簿中没有哪个工作表的前 10 行含有台账表头；找到的工作表：填表说明, 汇总"
    )
    client = registry.as_(Role.county_officer, XINGYI)
    response = await client.post("/v1/imports", files={"file": ("台账.xlsx", out.getvalue())})
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"].endswith("sheets found: 填表说明, 汇总")


async def test_an_export_reimports_unchanged_with_kind_inferred_and_a_dry_run_agrees(
    registry, job_ctx, villages
) -> None:
    a, b = ids(2)
    loaded = await upload(registry, job_ctx, ledger([member("E1", a), member("E1", b, "配偶")]))
    assert loaded["accepted"] == 2
    client = registry.as_(Role.county_officer, XINGYI)
    exported = await client.get("/v1/exports/households?format=xlsx")
    assert exported.status_code == 200
    checked = await client.post(
        "/v1/imports?dry_run=true", files={"file": ("households.xlsx", exported.content)}
    )
    assert checked.status_code == 200, checked.text
    assert (checked.json()["unchanged"], checked.json()["rejected"]) == (2, 0)
    again = await upload(registry, job_ctx, exported.content, "households.xlsx", kind=None)
    assert (again["kind"], again["unchanged"], again["accepted"], again["rejected"]) == (
        "households",
        2,
        0,
        0,
    )


def idnumber_check(number: str) -> str:
    return idnumber.check_character(number[:17])
