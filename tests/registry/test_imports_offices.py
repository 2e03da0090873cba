"""Ledgers built the way county and village offices build them (issue 22 items 1-8, issue 19
items 6 and 7): a title row and a 填报单位 row, a two-level merged header under the names
offices use, household cells merged down over the members, a blank row, a 合计 row and a 填表人
footer, ID columns Excel turned into numbers, only the required columns, GBK CSV. Each test
asserts what is accepted, rejected and skipped, with the reasons' codes."""

import io
import re
import zipfile
from typing import Any

from openpyxl import Workbook, load_workbook

from services.registry.imports.jobs import import_ledger
from shared import idnumber
from shared.auth import Role
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, XINGYI
from tests.registry.test_imports import csv_bytes, ids, member

ZH = {"Accept-Language": "zh-CN"}
UPPER = ["序号", "户号", "行政区划代码", "户类型", "家庭成员信息", None, None, None, "出生年月日"]
LOWER = [None, None, None, None, "姓名", "身份证号", "户主关系", "性别", None]


def person(number: str, relation: str, name: str = "张三") -> list[Any]:
    facts = idnumber.parse(number[:17] + idnumber.check_character(number[:17]))
    return [name, number, relation, "男" if facts.sex == "male" else "女"]


def office_ledger(households: list[tuple[str, str, list[list[Any]]]], *, bad_id: str = "") -> bytes:
    """A title row merged across, a 填报单位 row, a two-level header (家庭成员信息 merged over
    four columns, the others merged down), each household's cells merged over its members,
    a blank row, a 合计 row and a 填表人 footer."""
    book = Workbook()
    ws = book.active
    ws.title = "脱贫户台账"
    ws.append(["兴义市丰都村脱贫户家庭成员信息台账"])
    ws.merge_cells("A1:I1")
    ws.append(["填报单位：丰都村民委员会", None, None, None, None, None, "填报日期：2025年12月1日"])
    ws.append(UPPER)
    ws.append(LOWER)
    ws.merge_cells("E3:H3")
    for column in "ABCDI":
        ws.merge_cells(f"{column}3:{column}4")
    for serial, (household_no, category, members) in enumerate(households, start=1):
        first = ws.max_row + 1
        for i, cells in enumerate(members):
            head = [serial, household_no, VILLAGE_A, category] if i == 0 else [None] * 4
            ws.append([*head, *cells, None])
        if len(members) > 1:
            for column in "ABCD":
                ws.merge_cells(f"{column}{first}:{column}{first + len(members) - 1}")
        if household_no == "H2":
            ws.append([])  # a blank row between two households
    ws.append(["合计", f"{len(households)}户", None, None, "7人"])
    ws.append(["填表人：王五        审核人：赵六        联系电话：0859-3221234"])
    ws.append(["说明：本表由村委会填写，一式两份。"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(
    registry,
    job_ctx,
    content: bytes,
    filename: str = "台账.xlsx",
    *,
    role: Role = Role.county_officer,
    region: str = XINGYI,
    params: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict:
    client = registry.as_(role, region)
    response = await client.post(
        "/v1/imports", files={"file": (filename, content)}, params=params or {}, data=data or {}
    )
    assert response.status_code == 202, response.text
    import_id = response.json()["import_id"]
    await import_ledger(job_ctx, import_id)
    result = await client.get(f"/v1/imports/{import_id}", headers=headers or {})
    assert result.status_code == 200
    return result.json()


def codes(result: dict) -> set[tuple[int, str | None]]:
    return {(r["row_no"], r["code"]) for r in result["rejected_rows"]}


async def test_an_office_ledger_with_merged_header_and_cells_totals_and_footers(
    registry, job_ctx, villages
) -> None:
    a, b, c, d, e = ids(5)
    bad = e[:-1] + ("0" if e[-1] != "0" else "1")
    content = office_ledger(
        [
            ("H1", "脱贫户", [person(a, "户主"), person(b, "配偶", "李四")]),
            ("H2", "一般农户", [person(c, "户主"), person(d, "子女", "张小")]),
            ("H3", "脱贫户", [person(bad, "户主")]),
        ]
    )
    result = await upload(registry, job_ctx, content, params={"kind": "households"})
    assert result["status"] == "done", result["error"]
    # Rows 5-6 are H1 (merged cells), 7-8 H2, 9 blank, 10 H3, 11 合计, 12 填表人, 13 说明.
    assert (result["rows_read"], result["accepted"], result["rejected"]) == (5, 4, 1)
    assert codes(result) == {(10, "id_number.checksum")}
    assert result["skipped"] == 4
    assert {(r["row_no"], r["code"]) for r in result["skipped_rows"]} == {
        (9, "import.skipped_blank"),
        (11, "import.skipped_total"),
        (12, "import.skipped_footer"),
        (13, "import.skipped_footer"),
    }
    zh = (
        await registry.as_(Role.county_officer, XINGYI).get(
            f"/v1/imports/{result['id']}", headers=ZH
        )
    ).json()
    assert "合计行" in zh["skipped_rows"][1]["reason"]
    # Every member landed in its household, with the household's merged cells.
    client = registry.as_(Role.county_officer, XINGYI)
    page = (await client.get("/v1/households", params={"region": VILLAGE_A})).json()
    found = {h["household_no"]: h for h in page["items"]}
    assert set(found) == {"H1", "H2"}
    assert found["H2"]["category"] == "ordinary"


async def test_empty_household_cells_below_the_head_row_belong_to_the_household(
    registry, job_ctx, villages
) -> None:
    a, b, c = ids(3)
    rows = [member("F1", a), member("F1", b, "配偶"), member("F2", c)]
    for cell in range(7):
        rows[1][cell] = ""  # the household's columns left empty on the spouse's row
    result = await upload(
        registry, job_ctx, csv_bytes(rows), "台账.csv", data={"kind": "households"}
    )
    assert (result["accepted"], result["rejected"], result["skipped"]) == (3, 0, 0)


async def test_an_id_column_excel_turned_into_numbers_is_reported_per_row_never_as_repeats(
    registry, job_ctx, villages, session
) -> None:
    numbers = ids(9)
    rows: list[list[Any]] = [member(f"E{i}", n) for i, n in enumerate(numbers)]
    for row, number in zip(rows, numbers, strict=True):
        row[8] = float(number[:17] + "0")  # a number cell, as Excel keeps a typed number
    book = Workbook()
    ws = book.active
    ws.append(_headers())
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    result = await upload(registry, job_ctx, out.getvalue(), data={"kind": "households"})
    assert (result["accepted"], result["rejected"]) == (0, 9)
    assert {code for _, code in codes(result)} == {"id_number.excel_number"}
    (notice,) = result["notices"]
    assert notice["code"] == "import.excel_numbers"
    assert "Excel stored 9 ID numbers" in notice["message"]
    assert "format the 证件号码 column as text" in notice["message"]
    # The same in a CSV Excel saved: scientific notation, or the digits it kept.
    csv_rows = [member(f"C{i}", n) for i, n in enumerate(numbers[:4])]
    csv_rows[0][8] = csv_rows[1][8] = "5.22301E+17"
    csv_rows[2][8], csv_rows[3][8] = numbers[2][:15] + "000", numbers[3][:15] + "000"
    result = await upload(
        registry, job_ctx, csv_bytes(csv_rows), "台账.csv", data={"kind": "households"}
    )
    assert (result["accepted"], result["rejected"]) == (0, 4)
    assert {code for _, code in codes(result)} == {"id_number.excel_number"}
    assert len(result["notices"]) == 1


def _headers() -> list[str]:
    from tests.registry.test_imports import HEADERS

    return HEADERS


async def test_a_number_that_still_holds_all_18_digits_is_read(registry, job_ctx, villages) -> None:
    (a,) = ids(1)
    row: list[Any] = member("N1", a)
    row[8] = 1.0  # a number cell; its text in the file is put back to the 18 digits below
    book = Workbook()
    ws = book.active
    ws.append(_headers())
    ws.append(row)
    out = io.BytesIO()
    book.save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    fixed = io.BytesIO()
    with zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(
                    rb'(<c r="I2"[^>]*><v>)[^<]*(</v>)', rb"\g<1>" + a.encode() + rb"\2", data
                )
            target.writestr(entry, data)
    result = await upload(registry, job_ctx, fixed.getvalue(), data={"kind": "households"})
    assert (result["accepted"], result["rejected"], result["notices"]) == (1, 0, [])


async def test_gbk_csv_with_alias_headers_and_only_the_required_columns(
    registry, job_ctx, villages
) -> None:
    a, b, c = ids(3)
    header = "户号,行政区划代码,户类型,姓名,公民身份号码,与户主 关系"
    lines = [
        "兴义市脱贫户台账,,,,,",
        header,
        f"G1,{VILLAGE_A},脱贫户,张三,{a},户主",
        f",,,李四,{b},配偶",
        header,  # the header printed again on the second page
        f"G2,{VILLAGE_A},一般农户,王五,{c},户主",
        "小计,2户,,,,",
        "总计,2户,,3人,,",
    ]
    content = "\r\n".join(lines).encode("gbk")
    result = await upload(registry, job_ctx, content, "台账.csv", params={"kind": "households"})
    assert result["status"] == "done", result["error"]
    assert (result["accepted"], result["rejected"], result["skipped"]) == (3, 0, 3)
    assert {r["code"] for r in result["skipped_rows"]} == {
        "import.skipped_header",
        "import.skipped_total",
    }


async def test_a_missing_header_names_the_required_columns_and_the_headers_found(
    registry, job_ctx, villages
) -> None:
    (a,) = ids(1)
    content = f"户号,行政区划代码,姓名,身份证号码\r\nM1,{VILLAGE_A},张三,{a}\r\n".encode()
    result = await upload(
        registry, job_ctx, content, "台账.csv", params={"kind": "households"}, headers=ZH
    )
    assert result["status"] == "failed"
    assert result["error_code"] == "import.missing_headers"
    assert result["error"] == (
        "文件缺少必需的表头：户类型, 与户主关系（找到的表头：户号, 行政区划代码, 姓名, 身份证号码）"
    )
    client = registry.as_(Role.county_officer, XINGYI)
    response = await client.post(
        "/v1/imports",
        files={"file": ("台账.csv", content)},
        params={"kind": "economics"},
        data={"kind": "households"},
    )
    assert (response.status_code, response.json()["code"]) == (422, "import.kind_conflict")


async def test_the_xlsx_template_prevents_the_damage_and_imports_back(
    registry, job_ctx, villages
) -> None:
    client = registry.as_(Role.village_cadre, VILLAGE_A)
    response = await client.get("/v1/imports/template", params={"format": "xlsx"})
    assert response.status_code == 200
    assert "filename*=UTF-8''households-template.xlsx" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["台账", "填写说明"]
    ws = book["台账"]
    assert ws.freeze_panes == "A2"
    headers = [c.value for c in ws[1]]
    id_letter = ws.cell(row=1, column=headers.index("证件号码") + 1).column_letter
    assert ws[f"{id_letter}2"].number_format == "@"
    assert ws.column_dimensions[id_letter].number_format == "@"
    lists = {
        str(v.sqref).split(":")[0][:-1]: v.formula1 for v in ws.data_validations.dataValidation
    }
    category_letter = ws.cell(row=1, column=headers.index("户类型") + 1).column_letter
    assert lists[category_letter] == '"脱贫户,监测户,一般农户"'
    assert len(lists) == 12
    assert "证件号码列已设置为文本格式" in "".join(
        str(r[0].value) for r in book["填写说明"].iter_rows()
    )
    # Filled in and imported back by the village's cadre.
    (a,) = ids(1)
    for i, value in enumerate(member("T1", a), start=1):
        ws.cell(row=2, column=i, value=value)
    out = io.BytesIO()
    book.save(out)
    result = await upload(
        registry, job_ctx, out.getvalue(), role=Role.village_cadre, region=VILLAGE_A
    )
    assert (result["status"], result["accepted"], result["rejected"]) == ("done", 1, 0)


async def test_a_village_cadre_imports_the_village_and_other_rows_are_rejected_one_by_one(
    registry, job_ctx, villages
) -> None:
    a, b = ids(2)
    from tests.conftest import VILLAGE_B

    rows = [member("V1", a), member("V2", b, region=VILLAGE_B)]
    result = await upload(
        registry,
        job_ctx,
        csv_bytes(rows),
        "台账.csv",
        role=Role.village_cadre,
        region=VILLAGE_A,
        data={"kind": "households"},
    )
    assert (result["accepted"], result["rejected"]) == (1, 1)
    assert codes(result) == {(3, "region.outside_scope")}
    department = registry.as_(Role.department, XINGYI)
    response = await department.post(
        "/v1/imports", files={"file": ("a.csv", b"x")}, data={"kind": "households"}, headers=ZH
    )
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert {"行业部门", "村干部", "县级干部"} <= {w for w in re.split(r"[ ,，（）：]+", detail)}
    assert "village_cadre" not in detail


async def test_the_rejection_report_as_a_workbook_and_the_list_in_pages(
    registry, job_ctx, villages
) -> None:
    numbers = ids(4)
    rows = [member(f"R{i}", n) for i, n in enumerate(numbers)]
    for row in rows[1:]:
        row[3] = "贫困户"  # not a category: three rows rejected
    result = await upload(
        registry, job_ctx, csv_bytes(rows), "台账.csv", data={"kind": "households"}
    )
    assert (result["accepted"], result["rejected"]) == (1, 3)
    county = registry.as_(Role.county_officer, XINGYI)
    listed, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await county.get(f"/v1/imports/{result['id']}/rejections", params=params)).json()
        listed += [r["row_no"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert listed == [3, 4, 5]

    async def report(role: Role) -> list[list[Any]]:
        client = registry.as_(role, XINGYI)
        response = await client.get(f"/v1/imports/{result['id']}/rejections.xlsx", headers=ZH)
        assert response.status_code == 200, response.text
        ws = load_workbook(io.BytesIO(response.content)).active
        return [[c.value for c in row] for row in ws.iter_rows()]

    full = await report(Role.county_officer)
    assert (full[0][0], full[0][1], full[0][-1]) == ("行号", "户编号", "错误原因")
    id_at = full[0].index("证件号码")
    assert [r[0] for r in full[1:]] == [3, 4, 5]
    assert full[1][id_at] == numbers[1]
    assert full[1][1] == "R1"
    assert full[1][-1].startswith("户类型：")
    assert "贫困户" in full[1][-1]
    masked = await report(Role.auditor)
    assert masked[1][id_at] == idnumber.mask(numbers[1])
    assert numbers[1] not in str(masked)


async def test_an_import_answers_the_same_whatever_is_registered_in_another_county(
    registry, job_ctx, villages
) -> None:
    head, spouse = ids(2)
    (stranger,) = ids(1, area="522323")
    await upload(
        registry,
        job_ctx,
        csv_bytes([member("X1", head), member("X1", spouse, "配偶")]),
        "台账.csv",
        data={"kind": "households"},
    )
    puan = registry.as_(Role.county_officer, PUAN)

    async def probe(number: str) -> set[tuple[str, str | None]]:
        row = member("X1", number, region=PUAN_VILLAGE)
        response = await puan.post(
            "/v1/imports?dry_run=true",
            files={"file": ("p.csv", csv_bytes([row]))},
            data={"kind": "households"},
        )
        assert response.status_code == 200, response.text
        return {(r["column"], r["code"]) for r in response.json()["rejected_rows"]}

    answers = [await probe(n) for n in (head, spouse, stranger)]
    assert answers[0] == answers[1] == answers[2] == {("户编号", "household_no.taken")}


async def test_reasons_and_file_names_are_masked_for_the_reader(
    registry, job_ctx, villages
) -> None:
    a, b = ids(2)
    row = member("K1", a)
    row[10] = b  # an ID number typed into 性别
    name = f"{b}_王小明.csv"
    result = await upload(registry, job_ctx, csv_bytes([row]), name, data={"kind": "households"})
    assert b in str(result)  # the county sees full numbers
    auditor = registry.as_(Role.auditor, XINGYI)
    seen = (await auditor.get(f"/v1/imports/{result['id']}")).json()
    assert b not in str(seen)
    assert seen["filename"] == f"{idnumber.mask(b)}_王小明.csv"
    assert idnumber.mask(b) in seen["rejected_rows"][0]["reason"]
    listed = (await auditor.get("/v1/imports")).json()["items"]
    assert b not in str(listed)
