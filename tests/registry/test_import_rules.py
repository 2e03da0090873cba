"""One set of rules for a member and a household, whichever way they come in: the same bad
rows run through the household API's validators (``HouseholdCreate``) and through the bulk
ledger validator (columns, and row by row) give the same verdict on the same field, with the
same reason code where both speak of the ID number or the region code. And the column
validator gives exactly the staged records and reasons of the row validator."""

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from povguard import demo
from services.registry.households.schemas import HouseholdCreate
from services.registry.imports import rows
from services.registry.imports import template as t
from shared import clock, idnumber

VILLAGE = "522301100001"
TODAY = clock.today()
HEAD = idnumber.make("522301", date(1980, 5, 17), 1)  # a man
_KEYS = [c.key for c in t.HOUSEHOLD_COLUMNS]
_HEADER = {c.key: c.header for c in t.HOUSEHOLD_COLUMNS}

# API field (household level, or a member's) -> the ledger column that holds it.
_API_COLUMN = {
    "household_no": "户编号",
    "region_code": "行政区划代码",
    "address": "家庭住址",
    "category": "户类型",
    "relocated": "易地扶贫搬迁",
    "phone": "联系电话",
    "name": "姓名",
    "id_number": "证件号码",
    "relation": "与户主关系",
    "sex": "性别",
    "birth_date": "出生日期",
    "ethnicity": "民族",
    "education": "文化程度",
    "health": "健康状况",
    "disability_grade": "残疾等级",
    "labour_capacity": "劳动技能",
    "migrant_work_months": "务工时间(月)",
    "medical_insurance": "城乡居民基本医疗保险",
}
# The codes each side gives for the same fault (the ledger's report keeps its own codes for
# the agreement of sex and birth date with the ID number).
_SAME_FAULT = {
    "id_number.sex_mismatch": "sex.id_number_mismatch",
    "id_number.birth_date_mismatch": "birth_date.id_number_mismatch",
}


def cells(**changes: str) -> list[str]:
    good = {
        "household_no": "H1",
        "region_code": VILLAGE,
        "address": "第1组",
        "category": "脱贫户",
        "poverty_causes": "因病、缺技术",
        "relocated": "否",
        "phone": "13800000000",
        "name": "王小明",
        "id_number": HEAD,
        "relation": "户主",
        "sex": "男",
        "birth_date": "1980-05-17",
        "ethnicity": "布依族",
        "education": "初中",
        "schooling": "非在校生",
        "health": "健康",
        "disability_grade": "无",
        "labour_capacity": "普通劳动力",
        "migrant_work_months": "6",
        "medical_insurance": "是",
        "pension_insurance": "是",
        "dibao": "否",
        "tekun": "否",
    }
    return [{**good, **changes}[k] for k in _KEYS]


def _word(raw: str, mapping: dict[str, Any], default: Any = None) -> Any:
    """A ledger word as the API's value (an unknown word is sent as it is, for the API to
    refuse)."""
    return default if raw == "" else mapping.get(raw, raw)


def api_payload(row: list[str]) -> dict[str, Any]:
    """The row as a client of the household API would send it."""
    c = dict(zip(_KEYS, row, strict=True))
    try:
        birth: Any = rows._date(c["birth_date"]).isoformat() if c["birth_date"] else None
    except ValueError:
        birth = c["birth_date"]
    in_school, stage = rows._schooling(c["schooling"], [])
    grade = c["disability_grade"]
    months = c["migrant_work_months"]
    return {
        "household_no": c["household_no"],
        "region_code": c["region_code"],
        "address": c["address"],
        "category": _word(c["category"], t.CATEGORIES),
        "poverty_causes": rows._causes(c["poverty_causes"], []),
        "relocated": _word(c["relocated"], t.YES_NO, False),
        "phone": c["phone"] or None,
        "members": [
            {
                "name": c["name"],
                "id_number": c["id_number"],
                "relation": _word(c["relation"], t.RELATIONS),
                "sex": _word(c["sex"], t.SEXES),
                "birth_date": birth,
                "ethnicity": c["ethnicity"] or "汉族",
                "education": c["education"] or None,
                "in_school": in_school,
                "schooling_stage": stage,
                "health": _word(c["health"], t.HEALTH, "healthy"),
                "disability_grade": t.DISABILITY.get(grade, int(grade) if grade.isdigit() else 0),
                "labour_capacity": _word(c["labour_capacity"], t.LABOUR, "ordinary"),
                "migrant_work_months": int(months) if months.isdigit() else months or 0,
                "medical_insurance": _word(c["medical_insurance"], t.YES_NO, True),
            }
        ],
    }


def api_verdict(row: list[str]) -> dict[str, str | None]:
    """{ledger column: reason code or None} for what the API refuses in the row."""
    try:
        HouseholdCreate.model_validate(api_payload(row))
    except ValidationError as exc:
        found: dict[str, str | None] = {}
        for error in exc.errors():
            field = next(str(p) for p in reversed(error["loc"]) if isinstance(p, str))
            message = error.get("ctx", {}).get("error")
            code = getattr(message, "code", None)
            found[_API_COLUMN[field]] = _SAME_FAULT.get(code, code) if code else None
        return found
    return {}


def bulk_verdict(row: list[str]) -> dict[str, str | None]:
    """{ledger column: reason code} for what the column validator refuses in the row; the
    row validator must say exactly the same."""
    frame, errors = rows.household_columns([2], [row], TODAY)
    record, row_errors = rows.household_row(2, row, TODAY)
    assert frame.rows() == [record]
    assert errors == ([(2, row_errors)] if row_errors else [])
    return {column: getattr(reason, "code", None) for column, reason in row_errors}


BAD_ROWS = {
    "check character": cells(id_number=HEAD[:17] + ("0" if HEAD[17] != "0" else "1")),
    "17 characters": cells(id_number=HEAD[:17]),
    "letters": cells(id_number="52230119800517001A"),
    "no such birth date": cells(
        id_number=(n := "522301198002300011")[:17] + idnumber.check_character(n[:17])
    ),
    "born in the future": cells(
        id_number=idnumber.make("522301", TODAY + timedelta(days=1), 1), sex="", birth_date=""
    ),
    "born before 1900": cells(
        id_number=idnumber.make("522301", date(1899, 12, 31), 1), sex="", birth_date=""
    ),
    "sex disagrees": cells(sex="女"),
    "birth date disagrees": cells(birth_date="1980-05-18"),
    "unknown sex word": cells(sex="未知"),
    "unreadable birth date": cells(birth_date="五月"),
    "region code of 11 digits": cells(region_code=VILLAGE[:11]),
    "region code 00": cells(region_code="00" + VILLAGE[2:]),
    "household number of 41 characters": cells(household_no="H" * 41),
    "no household number": cells(household_no=""),
    "no name": cells(name=""),
    "name of 51 characters": cells(name="王" * 51),
    "address of 301 characters": cells(address="村" * 301),
    "phone of 21 characters": cells(phone="1" * 21),
    "ethnicity of 21 characters": cells(ethnicity="族" * 21),
    "education of 31 characters": cells(education="学" * 31),
    "unknown category": cells(category="贫困户"),
    "no category": cells(category=""),
    "unknown relation": cells(relation="邻居"),
    "unknown health": cells(health="良好"),
    "disability grade 5": cells(disability_grade="5"),
    "unknown labour capacity": cells(labour_capacity="强劳动力"),
    "13 months of work": cells(migrant_work_months="13"),
    "yes or no misspelt": cells(relocated="对"),
}


@pytest.mark.parametrize("row", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_the_api_and_the_ledger_refuse_the_same_bad_row_on_the_same_field(row: list[str]) -> None:
    api, bulk = api_verdict(row), bulk_verdict(row)
    assert bulk, "the ledger validator let the row through"
    assert set(api) == set(bulk)
    for column, code in api.items():
        if code is not None:  # pydantic's own checks (lengths, enums) carry no code of ours
            assert bulk[column] == code


def test_a_good_row_passes_both() -> None:
    row = cells()
    assert api_verdict(row) == {} == bulk_verdict(row)
    row = cells(sex="", birth_date="", ethnicity="", education="", phone="", disability_grade="")
    assert api_verdict(row) == {} == bulk_verdict(row)


def test_the_column_validator_stages_what_the_row_validator_does() -> None:
    """A generated county ledger with every kind of bad and unusual cell mixed in: the same
    staged records (in row order) and the same reasons, row for row."""
    villages = [f"5223011000{i:02d}" for i in range(1, 4)]
    ledger = demo.ledger_rows(villages, 300, today=date(2025, 12, 31))
    odd = [
        cells(id_number=HEAD.lower()[:17] + "x"),  # lower-case x: made upper case
        cells(id_number="５２２３０１１９８００５１７００１" + HEAD[17]),  # full-width digits
        cells(id_number="5.22301E+17"),  # Excel kept it as a number
        cells(id_number="522301198005170000"),  # and lost the last digits
        cells(birth_date="19800517"),
        cells(birth_date="1980年5月17日"),
        cells(birth_date=str((date(1980, 5, 17) - date(1899, 12, 30)).days)),  # a serial
        cells(schooling="在校"),
        cells(schooling="普通高中二年级"),
        cells(schooling="辍学"),
        cells(schooling="留学"),
        cells(disability_grade="3"),
        cells(disability_grade="²"),
        cells(poverty_causes="因病; 因学 / 缺技术"),
        cells(relocated="", medical_insurance="", pension_insurance=""),
        *BAD_ROWS.values(),
    ]
    mixed = [row for pair in zip(ledger, odd * 100, strict=False) for row in pair]
    numbers = [i + 3 for i in range(len(mixed))]
    frame, errors = rows.household_columns(numbers, mixed, TODAY)
    expected = [rows.household_row(n, row, TODAY) for n, row in zip(numbers, mixed, strict=True)]
    assert frame.rows() == [record for record, _ in expected]
    assert errors == [(n, errs) for n, (_, errs) in zip(numbers, expected, strict=True) if errs]
    assert frame.schema == rows.HOUSEHOLD_SCHEMA


def _csv(*lines: str, end: str = "\r\n") -> bytes:
    return end.join(lines).encode()


_HEADERS = ",".join(c.header for c in t.HOUSEHOLD_COLUMNS)
_ROW = ",".join(cells())
CSV_FILES = {
    "plain": _csv(_HEADERS, _ROW, _ROW.replace("H1", "H2")),
    "title row, blank rows, bare \\r and \\n line ends": (
        "台账\r\n" + _HEADERS + "\n\n" + _ROW + "\r" + " , ,\t\r\n" + _ROW.replace("H1", "H3")
    ).encode(),
    "quoted cells across lines, spaces, guarded formulas": _csv(
        _HEADERS,
        _ROW.replace("第1组", '"第1组\n二号"').replace("王小明", " '=王小明 \u3000"),
        _ROW.replace("第1组", "'-1").replace("13800000000", "'x"),
    ),
    "title and blank rows, no quotes": _csv(
        "台账,,", "", _HEADERS, " , ,\t", _ROW, ",,,", _ROW.replace("H1", "H3"), ""
    ),
    "spaces and guarded formulas, no quotes": _csv(
        _HEADERS,
        _ROW.replace("王小明", " '=王小明 \u3000").replace("第1组", "\x1c'-1\t"),
        _ROW.replace("13800000000", "'x").replace("户主", "'@户主"),
        end="\n",
    ),
    "short and long rows": _csv(_HEADERS, _ROW + ",extra,cells", ",".join(cells()[:20]) + ",,,"),
    "truncated": _csv(_HEADERS, _ROW, ",".join(cells()[:10])),
    "headers only": _csv(_HEADERS),
    "UTF-8 with a BOM": "\ufeff".encode() + _csv(_HEADERS, _ROW),
    "columns in another order": _csv(
        ",".join(reversed(_HEADERS.split(","))), ",".join(reversed(cells()))
    ),
    "no header": _csv("a,b,c", "1,2,3"),
    "unclosed quote": _csv(_HEADERS, _ROW.replace("第1组", '"第1组')),
}


@pytest.mark.parametrize("content", CSV_FILES.values(), ids=CSV_FILES.keys())
def test_the_column_reader_reads_a_csv_file_as_the_row_reader_does(
    content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.registry.imports import csvfile, reader

    def outcome() -> Any:
        try:
            sheet = reader.read(t.ImportKind.households, "l.csv", content)
        except reader.UnreadableFile as exc:
            return str(exc)
        return sheet.rows, sheet.row_numbers, sheet.kind

    columns = outcome()
    blocks = csvfile._line_blocks
    monkeypatch.setattr(csvfile, "_line_blocks", lambda text: blocks(text, 30))
    assert outcome() == columns  # lines split in blocks of a line or two
    monkeypatch.setattr(csvfile, "_read_plain", csvfile._read_records)
    assert outcome() == columns
