"""Finding a ledger's header as offices write it: under a title and a 填报单位 row, in one row or
two (a group label such as 家庭成员信息 merged over the columns of the row below), each column
under any of its usual names (身份证号, 户号, 出生年月日 ...), matched after removing spaces,
line breaks, asterisks and bracketed notes (``务工时间（月）``, ``户类型(脱贫户/监测户/一般农户)``).
Only the columns the rules need are required; the others take their defaults when absent."""

import re
from dataclasses import dataclass
from typing import Any

from services.registry.imports.template import COLUMNS, ImportKind
from shared.i18n import Message, t

# Ledgers start with a title row ("XX村脱贫户信息台账") and sometimes a unit or date row: the
# header is looked for in the sheet's first rows.
HEADER_SEARCH_ROWS = 10

# Every name a column goes by in the ledgers offices keep (the template's own name first).
_HOUSEHOLD_ALIASES: dict[str, tuple[str, ...]] = {
    "household_no": ("户编号", "户号", "家庭编号", "户码", "农户编号"),
    "region_code": ("行政区划代码", "区划代码", "行政区划编码", "行政区划", "村代码", "村级代码"),
    "address": ("家庭住址", "住址", "家庭地址", "地址", "居住地址", "现住址"),
    "category": ("户类型", "户类别", "农户类型", "户属性", "农户类别"),
    "poverty_causes": ("致贫原因", "主要致贫原因", "致贫返贫原因", "返贫致贫原因"),
    "relocated": ("易地扶贫搬迁", "是否易地扶贫搬迁", "易地搬迁", "是否易地搬迁", "易地扶贫搬迁户"),
    "phone": ("联系电话", "联系方式", "手机号码", "手机号", "电话", "电话号码", "户主联系电话"),
    "name": ("姓名", "成员姓名", "家庭成员姓名", "人员姓名"),
    "id_number": (
        "证件号码",
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "身份证件号码",
        "居民身份证号码",
        "证件号",
        "身份证",
    ),
    "relation": ("与户主关系", "户主关系", "与户主的关系", "家庭关系"),
    "sex": ("性别",),
    "birth_date": ("出生日期", "出生年月日", "出生年月", "出生时间"),
    "ethnicity": ("民族",),
    "education": ("文化程度", "学历", "受教育程度"),
    "schooling": ("在校生状况", "在校生情况", "在校情况", "在校状况"),
    "health": ("健康状况", "健康情况"),
    "disability_grade": ("残疾等级", "残疾级别", "残疾程度"),
    "labour_capacity": ("劳动技能", "劳动能力", "劳动力状况"),
    "migrant_work_months": ("务工时间", "务工月数", "外出务工时间", "务工时间月", "务工时长"),
    "medical_insurance": (
        "城乡居民基本医疗保险",
        "参加城乡居民基本医疗保险",
        "是否参加城乡居民基本医疗保险",
        "基本医疗保险",
        "医疗保险",
    ),
    "pension_insurance": (
        "城乡居民基本养老保险",
        "参加城乡居民基本养老保险",
        "是否参加城乡居民基本养老保险",
        "基本养老保险",
        "养老保险",
    ),
    "dibao": ("低保", "是否享受低保", "享受低保", "低保户", "是否低保"),
    "tekun": ("特困供养", "是否特困供养", "特困供养人员", "特困", "是否特困"),
}
_ECONOMICS_ALIASES: dict[str, tuple[str, ...]] = {
    "household_no": _HOUSEHOLD_ALIASES["household_no"],
    "year": ("年度", "年份", "统计年度"),
    "wage": ("工资性收入", "工资收入"),
    "operating": ("生产经营性净收入", "生产经营性收入", "经营性收入", "经营净收入"),
    "property": ("财产性收入", "财产净收入"),
    "transfer": ("转移性收入", "转移净收入"),
    "medical_out_of_pocket": ("医疗自付支出", "医疗支出", "自付医疗费用", "医疗自付费用"),
    "education": ("教育支出",),
    "disaster_loss": ("灾害损失",),
    "other_rigid": ("其他刚性支出",),
}
ALIASES = {ImportKind.households: _HOUSEHOLD_ALIASES, ImportKind.economics: _ECONOMICS_ALIASES}

# Bracketed notes ((月), （元）, 【必填】, [脱贫户/监测户]), asterisks marking required columns,
# and every kind of space or line break a header cell holds.
_NOTE = re.compile(r"[(（【\[<《].*?(?:[)）】\]>》]|$)")
_NOISE = re.compile(r"[\s\u3000*＊:：\ufeff]+")


def normalize(cell: object) -> str:
    """A header cell as its column is looked up: ``务工时间（月）`` -> ``务工时间``."""
    return _NOISE.sub("", _NOTE.sub("", _NOISE.sub("", str(cell or ""))))


_LOOKUP = {
    kind: {normalize(name): key for key, names in aliases.items() for name in names}
    for kind, aliases in ALIASES.items()
}


def key_of(kind: ImportKind, cell: object) -> str | None:
    """The column a header cell names in a ledger of ``kind``, if any."""
    return _LOOKUP[kind].get(normalize(cell)) if isinstance(cell, str) else None


@dataclass
class Header:
    index: int  # the last header row, in the sheet's rows (the sheet's row number - 1)
    kind: ImportKind
    positions: dict[str, int]  # column key -> position in the row, for the columns present
    found: list[str]  # the header cells as written, for a message


def _positions(kind: ImportKind, row: list[Any]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, cell in enumerate(row):
        key = key_of(kind, cell)
        if key is not None and key not in positions:
            positions[key] = i
    return positions


def missing(kind: ImportKind, positions: dict[str, int]) -> list[str]:
    return [c.header for c in COLUMNS[kind] if c.required and c.key not in positions]


def _merged(upper: list[Any], lower: list[Any]) -> list[Any]:
    """A two-level header read as one row: the lower cell where it has one (the columns
    under a group label), else the upper (a cell merged down over both rows)."""
    width = max(len(upper), len(lower))
    upper, lower = upper + [None] * (width - len(upper)), lower + [None] * (width - len(lower))
    return [b if b not in (None, "") else a for a, b in zip(upper, lower, strict=True)]


def _text_cells(row: list[Any]) -> list[str]:
    return [str(c).strip() for c in row if isinstance(c, str) and c.strip()]


def _header_like(kind: ImportKind, row: list[Any]) -> bool:
    """Whether every text cell of a row names a column (the lower row of a two-level
    header, never a data row)."""
    cells = [c for c in row if c not in (None, "")]
    return bool(cells) and all(key_of(kind, c) is not None for c in cells)


def _at(raw: list[list[Any]], index: int, kind: ImportKind) -> list[tuple[int, list[Any]]]:
    """The header rows starting at ``index``, as (last header row index, cells): the row
    read with the row below it as a two-level header when that row holds only column names
    and this one names some itself (a cell merged down over both rows; a title row above a
    header names none), then the row alone."""
    row = raw[index]
    out: list[tuple[int, list[Any]]] = []
    below = raw[index + 1] if index + 1 < len(raw) else None
    if below is not None and _positions(kind, row) and _header_like(kind, below):
        out.append((index + 1, _merged(row, below)))
    out.append((index, row))
    return out


def candidates(raw: list[list[Any]], kind: ImportKind) -> list[tuple[int, list[Any]]]:
    """Every header the sheet's first rows may hold (see ``_at``)."""
    return [c for i in range(min(len(raw), HEADER_SEARCH_ROWS)) for c in _at(raw, i, kind)]


def find(raw: list[list[Any]], kind: ImportKind | None) -> Header | None:
    """The header among the sheet's first rows: the first row (or pair of rows) that names
    every required column of a ledger."""
    kinds = [kind] if kind is not None else list(ImportKind)
    for index in range(min(len(raw), HEADER_SEARCH_ROWS)):
        matched: dict[ImportKind, Header] = {}
        for k in kinds:
            for last, row in _at(raw, index, k):
                positions = _positions(k, row)
                if positions and not missing(k, positions):
                    matched[k] = Header(last, k, positions, _text_cells(row))
                    break
        if len(matched) > 1:
            raise HeaderError(
                t(
                    "row {row} has the headers of both a households and an economics ledger: "
                    "send kind (households or economics) with the file",
                    "import.kind_ambiguous",
                    row=index + 1,
                )
            )
        if matched:
            return next(iter(matched.values()))
    return None


class HeaderError(ValueError):
    """No header could be found; the message says what is missing and what was found."""


def not_found(raw: list[list[Any]], kind: ImportKind | None) -> Message:
    """Why no header was found in ``raw``: the required columns the most ledger-like of the
    first rows lacks, and the headers it has."""
    kinds = [kind] if kind is not None else list(ImportKind)
    best: tuple[int, ImportKind, list[str], list[Any]] | None = None
    for k in kinds:
        for _, row in candidates(raw, k):
            positions = _positions(k, row)
            score = len(positions)
            if best is None or score > best[0]:
                best = (score, k, missing(k, positions), row)
    if best is None or best[0] == 0 or kind is None:
        if kind is None:
            return t(
                "the headers in the first {rows} rows are neither those of a households ledger "
                "nor of an economics ledger: start from the template "
                "(GET /v1/imports/template), or send kind with the file",
                "import.kind_unknown",
                rows=HEADER_SEARCH_ROWS,
            )
        best = (0, kind, missing(kind, {}), _first_text_row(raw))
    _, _, lacking, row = best
    return t(
        "the file lacks the required headers: {headers} (headers found: {found})",
        "import.missing_headers",
        headers=", ".join(lacking),
        found=", ".join(_text_cells(row)[:40]) or "-",
    )


def _first_text_row(raw: list[list[Any]]) -> list[Any]:
    """The row of the first rows with the most text cells (what the reader took for one)."""
    rows = raw[:HEADER_SEARCH_ROWS]
    return max(rows, key=lambda r: len(_text_cells(r))) if rows else []
