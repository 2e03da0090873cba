"""Per-row field rules of a ledger: each cell's rule, in one place, turning the cell's text
into the staged value and appending (column, reason) when it is wrong; a row's staging record
and its field errors. Cross-row rules (duplicates, regions, heads) are the pipeline's, in SQL;
the columnar validation of a whole file (``rows``) applies these same rules."""

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from annotated_types import Le, MaxLen
from pydantic import BaseModel

from services.registry.economics.schemas import FIRST_YEAR
from services.registry.households.schemas import HouseholdCreate, MemberCreate
from services.registry.imports import template as t
from shared import i18n, idnumber, regions
from shared.money import parse_amount

_CAUSE_SPLIT = re.compile(r"[、,，;；/\s]+")

Errors = list[tuple[str, str]]
REGION_CODE_FORMAT = "must be a 12-digit region code"
DISAGREES = "does not agree with the ID number"
# One code per fault, as the household API says it (the import's former
# ``sex.id_number_mismatch`` and ``birth_date.id_number_mismatch`` are aliases of these for a
# release: ``messages.CODE_ALIASES``).
SEX_MISMATCH = "id_number.sex_mismatch"
BIRTH_DATE_MISMATCH = "id_number.birth_date_mismatch"


def _is_number(raw: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also takes "²", which ``int`` then refuses."""
    return raw.isascii() and raw.isdigit()


_m = i18n.t
REQUIRED = "is required"
# A date as ledgers type it: 1990-01-01, 1990.01.01, 1990/1/1, 1990年1月1日, 19900101.
_DATE = re.compile(r"^([0-9]{4})\s*[-./年]\s*([0-9]{1,2})\s*[-./月]\s*([0-9]{1,2})\s*日?$")
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 (Excel counts a 29 Feb 1900)
# Serials of dates from 1900 to 2099: a five-digit number in a date column is one.
_SERIALS = range(1, 73051)
# How Excel shows a number too long for its cell: 5.22301E+17.
_SCIENTIFIC = re.compile(r"^[0-9](\.[0-9]+)?E\+?[0-9]+$")


def _date(raw: str) -> date:
    """A date as typed in a ledger, or the serial number Excel keeps a date cell as."""
    raw = raw.strip()
    if _is_number(raw) and len(raw) == 8:
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
    if _is_number(raw) and int(raw) in _SERIALS:
        return _EXCEL_EPOCH + timedelta(days=int(raw))
    match = _DATE.match(raw)
    if match is None or not all(_is_number(g) for g in match.groups()):
        raise ValueError
    year, month, day = (int(g) for g in match.groups())
    return date(year, month, day)


def _id_number_reason(number: str, today: date) -> i18n.Message | None:
    """Why an ID number is refused, with a code a client can branch on; None when valid."""
    if not number:
        return _m(REQUIRED, "id_number.required")
    if _SCIENTIFIC.match(number):
        return excel_number(number)
    try:
        idnumber.parse(number, today=today)
    except idnumber.InvalidIdNumber:
        pass
    else:
        return None
    if len(number) != 18:
        return _m("must be 18 characters, got {length}", "id_number.length", length=len(number))
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        return _m("must be 17 digits followed by a digit or X", "id_number.format")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return _m(
            "birth date {digits} is not a real date", "id_number.birth_date", digits=number[6:14]
        )
    if born.year < 1900 or born > today:
        return _m(
            "birth date {date} is out of range", "id_number.birth_date", date=born.isoformat()
        )
    if number.endswith("000"):
        # Excel keeps 15 digits of a number: the last three of an ID number became zeros.
        return excel_number(number)
    return _m(
        "check character does not match (expected {expected})",
        "id_number.checksum",
        expected=idnumber.check_character(number[:17]),
    )


def excel_number(shown: str) -> i18n.Message:
    """A row's reason; the import says once how to fix the column (``EXCEL_COLUMN``)."""
    return _m(
        "Excel stored this ID number as a number ({shown}) and lost its last digits",
        EXCEL_NUMBER,
        shown=shown,
    )


EXCEL_NUMBER = "id_number.excel_number"


def excel_column(rows: int) -> i18n.Message:
    """The import-level advice when Excel turned the ID column into numbers."""
    return _m(
        "Excel stored {rows} ID numbers as numbers and lost their last digits: format the "
        "证件号码 column as text (Format Cells > Text), type the numbers in again (or start "
        "from the template, GET /v1/imports/template?format=xlsx) and import the file again",
        "import.excel_numbers",
        rows=rows,
    )


def _choice(
    raw: str, mapping: dict[str, Any], header: str, errors: Errors, default: Any = None
) -> Any:
    if not raw:
        if default is None:
            errors.append((header, _m(REQUIRED, "import.required")))
        return default
    value = mapping.get(raw)
    if value is None:
        errors.append((header, not_one_of(raw, list(mapping))))
    return value


def not_one_of(raw: str, choices: list[str]) -> i18n.Message:
    return _m(
        "{value} is not one of {choices}",
        "import.not_one_of",
        value=repr(raw),
        choices="/".join(choices),
    )


def _text(raw: str, header: str, limit: int, errors: Errors, required: bool = False) -> str:
    if required and not raw:
        errors.append((header, _m(REQUIRED, "import.required")))
    elif len(raw) > limit:
        errors.append(
            (header, _m("is longer than {limit} characters", "import.too_long", limit=limit))
        )
        return raw[:limit]
    return raw


def _bound(model: type[BaseModel], field: str, kind: type[Any]) -> Any:
    """A bound the household API's schema puts on a field (``MaxLen`` or ``Le``)."""
    (bound,) = (m for m in model.model_fields[field].metadata if isinstance(m, kind))
    return bound.max_length if isinstance(bound, MaxLen) else bound.le


# The API's limits, so a ledger and a client are held to the same ones.
LIMITS = {
    "household_no": _bound(HouseholdCreate, "household_no", MaxLen),
    "address": _bound(HouseholdCreate, "address", MaxLen),
    "phone": _bound(HouseholdCreate, "phone", MaxLen),
    "name": _bound(MemberCreate, "name", MaxLen),
    "ethnicity": _bound(MemberCreate, "ethnicity", MaxLen),
    "education": _bound(MemberCreate, "education", MaxLen),
    "disability_grade": _bound(MemberCreate, "disability_grade", Le),
    "migrant_work_months": _bound(MemberCreate, "migrant_work_months", Le),
}


# The rules of one cell, each in one place: a rule takes the cell's text and the row's error
# list, appends (column, reason) when the cell is wrong and returns the staged value. The row
# validator below applies them cell by cell; the column validator (``household_columns``)
# applies the same functions once per distinct value of a column.
def _household_no(raw: str, errors: Errors) -> str | None:
    return _text(raw, "户编号", LIMITS["household_no"], errors, required=True) or None


def _region_code(raw: str, errors: Errors) -> str:
    if not regions.is_valid_code(raw):
        errors.append(("行政区划代码", _m(REGION_CODE_FORMAT, "region.code_format")))
    return raw


def _address(raw: str, errors: Errors) -> str:
    return _text(raw, "家庭住址", LIMITS["address"], errors)


def _category(raw: str, errors: Errors) -> str | None:
    return _choice(raw, t.CATEGORIES, "户类型", errors)


def _causes(raw: str, errors: Errors) -> list[str]:
    return [c for c in _CAUSE_SPLIT.split(raw) if c] if raw else []


def _yes_no(header: str, default: bool) -> Any:
    def rule(raw: str, errors: Errors) -> bool | None:
        return _choice(raw, t.YES_NO, header, errors, default)

    return rule


def _phone(raw: str, errors: Errors) -> str | None:
    return _text(raw, "联系电话", LIMITS["phone"], errors) or None


def _name(raw: str, errors: Errors) -> str:
    return _text(raw, "姓名", LIMITS["name"], errors, required=True)


def _relation(raw: str, errors: Errors) -> str | None:
    return _choice(raw, t.RELATIONS, "与户主关系", errors)


def _sex_given(raw: str, errors: Errors) -> str | None:
    """The sex a cell gives (None when blank: the ID number's is taken)."""
    return _choice(raw, t.SEXES, "性别", errors, "") or None


def _birth_given(raw: str, errors: Errors) -> date | None:
    """The birth date a cell gives (None when blank or unreadable)."""
    if not raw:
        return None
    try:
        return _date(raw)
    except ValueError:
        errors.append(
            (
                "出生日期",
                _m(
                    "{value} is not a date: write it as 1990-01-01, 1990.01.01, 1990/1/1 "
                    "or 1990年1月1日",
                    "date.unreadable",
                    value=repr(raw),
                ),
            )
        )
        return None


def _ethnicity(raw: str, errors: Errors) -> str:
    return _text(raw, "民族", LIMITS["ethnicity"], errors) or "汉族"


def _education(raw: str, errors: Errors) -> str | None:
    return _text(raw, "文化程度", LIMITS["education"], errors) or None


def _schooling(raw: str, errors: Errors) -> tuple[bool, str | None]:
    if not raw or raw == t.NOT_IN_SCHOOL:
        return False, None
    if raw == t.IN_SCHOOL_UNKNOWN_STAGE:
        return True, None
    stage = t.schooling_stage(raw)
    if stage is None:
        errors.append(("在校生状况", not_one_of(raw, [t.NOT_IN_SCHOOL, *t.SCHOOLING])))
    return stage not in (None, "dropout"), stage


def _health(raw: str, errors: Errors) -> str | None:
    return _choice(raw, t.HEALTH, "健康状况", errors, "healthy")


def _disability(raw: str, errors: Errors) -> int | None:
    if not raw:
        return 0
    if raw in t.DISABILITY:
        return t.DISABILITY[raw]
    if _is_number(raw) and int(raw) <= LIMITS["disability_grade"]:
        return int(raw)
    errors.append(("残疾等级", not_one_of(raw, list(t.DISABILITY))))
    return None


def _labour(raw: str, errors: Errors) -> str | None:
    return _choice(raw, t.LABOUR, "劳动技能", errors, "ordinary")


def _months(raw: str, errors: Errors) -> int | None:
    if not raw:
        return 0
    if _is_number(raw) and int(raw) <= LIMITS["migrant_work_months"]:
        return int(raw)
    errors.append(("务工时间(月)", _m("must be whole months from 0 to 12", "import.months")))
    return None


_relocated = _yes_no("易地扶贫搬迁", False)
_medical = _yes_no("城乡居民基本医疗保险", True)
_pension = _yes_no("城乡居民基本养老保险", False)
_dibao = _yes_no("低保", False)
_tekun = _yes_no("特困供养", False)


def household_row(
    row_no: int, cells: list[str], today: date, ext: tuple[str | None, str | None] = (None, None)
) -> tuple[tuple[Any, ...], Errors]:
    """One member row of a households file: its staging record and its field errors."""
    errors: Errors = []
    household_no = _household_no(cells[0], errors)
    region_code = _region_code(cells[1], errors)
    address = _address(cells[2], errors)
    category_v = _category(cells[3], errors)
    cause_list = _causes(cells[4], errors)
    relocated_v = _relocated(cells[5], errors)
    phone = _phone(cells[6], errors)
    name = _name(cells[7], errors)
    relation_v = _relation(cells[9], errors)
    number = idnumber.normalize(cells[8])
    facts = None
    id_reason = _id_number_reason(number, today)
    if id_reason is not None:
        errors.append(("证件号码", id_reason))
    else:
        facts = idnumber.parse(number, today=today)
    sex_v = _sex_given(cells[10], errors) if cells[10] else (facts.sex if facts else "")
    if facts and sex_v and sex_v != facts.sex:
        errors.append(("性别", _m(DISAGREES, SEX_MISMATCH)))
    birth_v = _birth_given(cells[11], errors)
    if cells[11]:
        if facts and birth_v and birth_v != facts.birth_date:
            errors.append(("出生日期", _m(DISAGREES, BIRTH_DATE_MISMATCH)))
    elif facts:
        birth_v = facts.birth_date
    ethnicity = _ethnicity(cells[12], errors)
    education = _education(cells[13], errors)
    in_school, stage = _schooling(cells[14], errors)
    health_v = _health(cells[15], errors)
    grade = _disability(cells[16], errors)
    labour_v = _labour(cells[17], errors)
    months_v = _months(cells[18], errors)
    medical_v = _medical(cells[19], errors)
    pension_v = _pension(cells[20], errors)
    dibao_v = _dibao(cells[21], errors)
    tekun_v = _tekun(cells[22], errors)
    record = (
        row_no,
        household_no,
        region_code,
        address,
        category_v,
        cause_list,
        relocated_v,
        phone,
        name,
        number,
        relation_v,
        sex_v,
        birth_v,
        ethnicity,
        education,
        in_school,
        stage,
        health_v,
        grade,
        labour_v,
        months_v,
        medical_v,
        pension_v,
        dibao_v,
        tekun_v,
        ext[0],
        ext[1],
        bool(errors),
    )
    return record, errors


_AMOUNT_HEADERS = [c.header for c in t.ECONOMICS_COLUMNS[2:]]


def _amount(raw: str, header: str, errors: Errors) -> Decimal | None:
    """A ledger amount (thousands separators allowed), by the API's money rule."""
    if not raw:
        return Decimal("0.00")
    try:
        value = parse_amount(raw.replace(",", ""))
    except ValueError as exc:
        reason = exc.args[0] if exc.args else str(exc)
        if not isinstance(reason, i18n.Message):
            reason = _m(str(reason), "amount.invalid")
        errors.append((header, reason))
        return None
    if value < 0:
        errors.append((header, _m("may not be negative", "amount.negative")))
        return None
    return value


def economics_row(row_no: int, cells: list[str], today: date) -> tuple[tuple[Any, ...], Errors]:
    errors: Errors = []
    household_no = _text(cells[0], "户编号", 40, errors, required=True)
    year = None
    if not _is_number(cells[1]):
        errors.append(("年度", _m("must be a year such as 2025", "year.format")))
    elif not FIRST_YEAR <= int(cells[1]) <= today.year:
        errors.append(
            (
                "年度",
                _m(
                    "must be from {first} to {last} (not in the future)",
                    "year.range",
                    first=FIRST_YEAR,
                    last=today.year,
                ),
            )
        )
    else:
        year = int(cells[1])
    amounts = [_amount(raw, h, errors) for raw, h in zip(cells[2:], _AMOUNT_HEADERS, strict=True)]
    return (row_no, household_no or None, year, *amounts, bool(errors)), errors
