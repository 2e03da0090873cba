"""Per-row field validation: a ledger row becomes one staging record, and each bad cell a
(column, reason). Cross-row rules (duplicates, regions, heads) are the pipeline's, in SQL."""

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from services.registry.economics.schemas import FIRST_YEAR
from services.registry.imports import template as t
from shared import i18n, idnumber, regions
from shared.money import parse_amount

_CAUSE_SPLIT = re.compile(r"[、,，;；/\s]+")

Errors = list[tuple[str, str]]
REGION_CODE_FORMAT = "must be a 12-digit region code"
DISAGREES = "does not agree with the ID number"

# Staging record layout (the pipeline's temp table has these columns in this order).
HOUSEHOLD_STAGE = [
    ("row_no", "integer"),
    ("household_no", "text"),
    ("region_code", "text"),
    ("address", "text"),
    ("category", "text"),
    ("poverty_causes", "text[]"),
    ("relocated", "boolean"),
    ("phone", "text"),
    ("name", "text"),
    ("id_number", "text"),
    ("relation", "text"),
    ("sex", "text"),
    ("birth_date", "date"),
    ("ethnicity", "text"),
    ("education", "text"),
    ("in_school", "boolean"),
    ("schooling_stage", "text"),
    ("health", "text"),
    ("disability_grade", "smallint"),
    ("labour_capacity", "text"),
    ("migrant_work_months", "smallint"),
    ("medical_insurance", "boolean"),
    ("pension_insurance", "boolean"),
    ("dibao", "boolean"),
    ("tekun", "boolean"),
    ("ext_system", "text"),
    ("ext_id", "text"),
    ("bad", "boolean"),
]


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
    return _m(
        "Excel stored this ID number as a number ({shown}) and lost its last digits: format "
        "the 证件号码 column as text (Format Cells > Text), type the numbers in again and "
        "import the file again",
        "id_number.excel_number",
        shown=shown,
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


def household_row(
    row_no: int, cells: list[str], today: date, ext: tuple[str | None, str | None] = (None, None)
) -> tuple[tuple[Any, ...], Errors]:
    """One member row of a households file: its staging record and its field errors."""
    (
        household_no,
        region_code,
        address,
        category,
        causes,
        relocated,
        phone,
        name,
        id_number,
        relation,
        sex,
        birth,
        ethnicity,
        education,
        schooling,
        health,
        disability,
        labour,
        months,
        medical,
        pension,
        dibao,
        tekun,
    ) = cells
    errors: Errors = []
    household_no = _text(household_no, "户编号", 40, errors, required=True)
    if not regions.is_valid_code(region_code):
        errors.append(("行政区划代码", _m(REGION_CODE_FORMAT, "region.code_format")))
    address = _text(address, "家庭住址", 300, errors)
    category_v = _choice(category, t.CATEGORIES, "户类型", errors)
    cause_list = [c for c in _CAUSE_SPLIT.split(causes) if c] if causes else []
    relocated_v = _choice(relocated, t.YES_NO, "易地扶贫搬迁", errors, False)
    phone = _text(phone, "联系电话", 20, errors)
    name = _text(name, "姓名", 50, errors, required=True)
    relation_v = _choice(relation, t.RELATIONS, "与户主关系", errors)
    number = idnumber.normalize(id_number)
    sex_v = birth_v = None
    facts = None
    id_reason = _id_number_reason(number, today)
    if id_reason is not None:
        errors.append(("证件号码", id_reason))
    else:
        facts = idnumber.parse(number, today=today)
    sex_v = _choice(sex, t.SEXES, "性别", errors, facts.sex if facts else "")
    if facts and sex_v and sex_v != facts.sex:
        errors.append(("性别", _m(DISAGREES, "sex.id_number_mismatch")))
    if birth:
        try:
            birth_v = _date(birth)
        except ValueError:
            errors.append(
                (
                    "出生日期",
                    _m(
                        "{value} is not a date: write it as 1990-01-01, 1990.01.01, 1990/1/1 "
                        "or 1990年1月1日",
                        "date.unreadable",
                        value=repr(birth),
                    ),
                )
            )
        if facts and birth_v and birth_v != facts.birth_date:
            errors.append(("出生日期", _m(DISAGREES, "birth_date.id_number_mismatch")))
    elif facts:
        birth_v = facts.birth_date
    ethnicity = _text(ethnicity, "民族", 20, errors) or "汉族"
    education = _text(education, "文化程度", 30, errors)
    if not schooling or schooling == t.NOT_IN_SCHOOL:
        in_school, stage = False, None
    elif schooling == t.IN_SCHOOL_UNKNOWN_STAGE:
        in_school, stage = True, None
    else:
        stage = t.schooling_stage(schooling)
        in_school = stage not in (None, "dropout")
        if stage is None:
            errors.append(("在校生状况", not_one_of(schooling, [t.NOT_IN_SCHOOL, *t.SCHOOLING])))
    health_v = _choice(health, t.HEALTH, "健康状况", errors, "healthy")
    if not disability:
        grade = 0
    elif disability in t.DISABILITY:
        grade = t.DISABILITY[disability]
    elif _is_number(disability) and int(disability) <= 4:
        grade = int(disability)
    else:
        grade = None
        errors.append(("残疾等级", not_one_of(disability, list(t.DISABILITY))))
    labour_v = _choice(labour, t.LABOUR, "劳动技能", errors, "ordinary")
    if not months:
        months_v = 0
    elif _is_number(months) and int(months) <= 12:
        months_v = int(months)
    else:
        months_v = None
        errors.append(("务工时间(月)", _m("must be whole months from 0 to 12", "import.months")))
    medical_v = _choice(medical, t.YES_NO, "城乡居民基本医疗保险", errors, True)
    pension_v = _choice(pension, t.YES_NO, "城乡居民基本养老保险", errors, False)
    dibao_v = _choice(dibao, t.YES_NO, "低保", errors, False)
    tekun_v = _choice(tekun, t.YES_NO, "特困供养", errors, False)
    record = (
        row_no,
        household_no or None,
        region_code,
        address,
        category_v,
        cause_list,
        relocated_v,
        phone or None,
        name,
        number,
        relation_v,
        sex_v,
        birth_v,
        ethnicity,
        education or None,
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


ECONOMICS_STAGE = [
    ("row_no", "integer"),
    ("household_no", "text"),
    ("year", "smallint"),
    ("wage", "numeric(14,2)"),
    ("operating", "numeric(14,2)"),
    ("property", "numeric(14,2)"),
    ("transfer", "numeric(14,2)"),
    ("medical_out_of_pocket", "numeric(14,2)"),
    ("education", "numeric(14,2)"),
    ("disaster_loss", "numeric(14,2)"),
    ("other_rigid", "numeric(14,2)"),
    ("bad", "boolean"),
]
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
