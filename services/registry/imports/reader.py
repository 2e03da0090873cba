"""Reading an uploaded ledger (CSV or XLSX) into a table of text columns, one per template
column, the way offices make them: the header found under title rows (``headers``), rows that
are not data (合计, 填表人 footers, a header printed again, blank rows, title rows) set aside
as ``skipped`` with their reason, a household's cells merged down over its member rows (or
left empty below the head's row) given to each member, and ID numbers Excel stored as numbers
shown as Excel shows them, so the rules refuse them as such. A file that cannot be read fails
the whole import with a clear reason."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from services.registry.imports import csvfile, headers, workbook
from services.registry.imports.csvfile import FIRST, decode_text
from services.registry.imports.errors import UnreadableFile
from services.registry.imports.template import COLUMNS, ImportKind
from shared import idnumber, spreadsheet
from shared.i18n import Message, t

__all__ = ["Sheet", "UnreadableFile", "decode_text", "detect_kind", "file_format", "read"]

XLSX_MAGIC = b"PK\x03\x04"
check_workbook = workbook.check_workbook
# At most this many skipped rows are listed (all are counted).
MAX_SKIPPED_LISTED = 1000


@dataclass
class Sheet:
    """The ledger's cells as text columns, one per template column (named by its key, in the
    template's order); ``row_numbers`` are the rows' numbers in the file; ``skipped`` the rows
    set aside as not data, with the reason (at most ``MAX_SKIPPED_LISTED``), of
    ``skipped_count``."""

    columns: pl.DataFrame
    row_numbers: list[int]
    kind: ImportKind | None = None
    skipped: list[tuple[int, Message]] = field(default_factory=list)
    skipped_count: int = 0

    @property
    def rows(self) -> list[list[str]]:
        """The same cells row by row."""
        return [list(row) for row in self.columns.iter_rows()]


def columns_of(kind: ImportKind, rows: list[list[str]]) -> pl.DataFrame:
    """Rows of cells (in the template's order) as the sheet's columns."""
    keys = [c.key for c in COLUMNS[kind]]
    return csvfile.frame_of(keys, list(zip(*rows, strict=True)) if rows else [[] for _ in keys])


def file_format(filename: str, content: bytes) -> str:
    if content.startswith(XLSX_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm")):
        return "xlsx"
    return "csv"


def excel_number(value: float) -> str:
    """A number as Excel's General format shows it once it has more digits than fit
    (``5.22301E+17``)."""
    return f"{value:.5E}".replace("E+0", "E+").replace(".00000E", "E")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    # An exported cell that would have been a formula carries a leading apostrophe: read back
    # the value it stood for, so a ledger re-imports unchanged.
    return spreadsheet.restore(str(value).replace("\x00", "").strip())


def id_cell(value: Any, written: str | None = None) -> str:
    """An ID number cell of a workbook. A number the file still writes with all 18 digits of
    a valid ID number (``written``: the cell's text in the sheet's XML) is read as one; any
    other number has lost digits (Excel keeps 15, a float 17) and is shown as Excel shows
    it, for the rules to refuse as such. Never the float's own digits: they are a different
    number that may pass the check character by chance."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _cell(value)
    digits = (written or "").strip()
    if (
        len(digits) == 18
        and digits.isascii()
        and digits.isdigit()
        and idnumber.check_character(digits[:17]) == digits[17]
    ):
        return digits
    return excel_number(float(value))


# ---- the sheet's body -----------------------------------------------------------------------

_TOTAL = r"^(合|小|总|累)\s*计"
_FOOTER = (
    r"^(填表人|填报人|审核人|审核|制表人|制表|负责人|单位负责人|统计人|联系电话|联系人|"
    r"说明|备注|注\s*[:：]|注\s*[0-9１-９一二三])"
)
_TITLE = r"(填报单位|填报日期|制表日期|统计日期|台账|统计表|花名册|信息表|登记表|汇总表)"
# A cell that can only be data: an ID number, or what Excel made of one.
_DATA_ID = r"[0-9]{6,}|^[0-9](\.[0-9]+)?[Ee]\+?[0-9]+$"
_HOUSEHOLD_KEYS = [c.key for c in COLUMNS[ImportKind.households][:7]]

_SKIP_REASONS = {
    "total": ("a total row (合计/小计/总计), not a household", "import.skipped_total"),
    "footer": (
        "a footer or note (填表人, 审核人, 说明 ...), not a household",
        "import.skipped_footer",
    ),
    "header": ("the header row again, not a household", "import.skipped_header"),
    "title": ("a title or 填报单位 row, not a household", "import.skipped_title"),
    "blank": ("a blank row", "import.skipped_blank"),
}


def _skip_reason(kind: ImportKind, keys: list[str]) -> pl.Expr:
    """Why a row is not data (null when it is), as an expression over the body's columns."""
    first = pl.col(FIRST)
    data_key = "id_number" if kind is ImportKind.households else "year"
    pattern = _DATA_ID if kind is ImportKind.households else r"^[0-9]{4}$"
    is_data = pl.col(data_key).str.contains(pattern) if data_key in keys else pl.lit(False)
    repeats = pl.sum_horizontal(pl.col(k).is_in(_header_names(kind, k)) for k in keys)
    filled = pl.sum_horizontal((pl.col(k) != "") for k in keys)
    return (
        pl.when(is_data)
        .then(None)
        .when(first.str.contains(_TOTAL))
        .then(pl.lit("total"))
        .when(first.str.contains(_FOOTER))
        .then(pl.lit("footer"))
        .when(repeats >= 2)
        .then(pl.lit("header"))
        .when(first.str.contains(_TITLE) & (filled <= 2))
        .then(pl.lit("title"))
        .otherwise(None)
    )


def _header_names(kind: ImportKind, key: str) -> list[str]:
    """The names a column's header is written as (for a header row printed again)."""
    template = [c.header for c in COLUMNS[kind] if c.key == key]
    return [*template, *headers.ALIASES[kind].get(key, ())]


def _fill_down(kind: ImportKind, frame: pl.DataFrame) -> pl.DataFrame:
    """A household's cells merged down over its member rows (read as the head's row holding
    them and the rows below left empty) belong to each member: a row without 户编号 takes the
    household columns it leaves empty from the row above that has one."""
    keys = _HOUSEHOLD_KEYS if kind is ImportKind.households else ["household_no"]
    group = (pl.col("household_no") != "").cum_sum().alias("_household")
    framed = frame.with_columns(group)
    return framed.with_columns(
        pl.when((pl.col(k) == "") & (pl.col("household_no") == "") & (pl.col("_household") > 0))
        .then(pl.col(k).first().over("_household"))
        .otherwise(pl.col(k))
        .alias(k)
        for k in keys
    ).drop("_household")


def _blank_rows(numbers: list[int], first_row: int) -> list[int]:
    """The blank rows between the header and the table's last row (row numbers the reader
    did not return)."""
    if not numbers:
        return []
    present = set(numbers)
    return [n for n in range(first_row, numbers[-1]) if n not in present]


def _body(kind: ImportKind, table: csvfile.Columns) -> Sheet:
    """The table read as the rules want it: every template column (an absent optional one
    blank), rows that are not data set aside, household cells filled down."""
    frame, numbers = table.frame, table.row_numbers
    keys = [k for k in table.header.positions]
    reason = _skip_reason(kind, keys).alias("_skip")
    frame = frame.with_columns(reason).with_columns(pl.Series("_row", numbers, dtype=pl.Int64))
    skipped_frame = frame.filter(pl.col("_skip").is_not_null()).select("_row", "_skip")
    frame = frame.filter(pl.col("_skip").is_null())
    template = [c.key for c in COLUMNS[kind]]
    frame = frame.with_columns(pl.lit("").alias(k) for k in template if k not in keys)
    if "household_no" in keys:
        frame = _fill_down(kind, frame)
    blank = _blank_rows(numbers, table.header.index + 2)
    skipped = sorted(
        [(n, "blank") for n in blank]
        + list(zip(skipped_frame["_row"].to_list(), skipped_frame["_skip"].to_list(), strict=True))
    )
    return Sheet(
        columns=frame.select(template),
        row_numbers=frame["_row"].to_list(),
        kind=kind,
        skipped=[(n, t(*_SKIP_REASONS[why])) for n, why in skipped[:MAX_SKIPPED_LISTED]],
        skipped_count=len(skipped),
    )


# ---- files ----------------------------------------------------------------------------------


def _finder(kind: ImportKind | None) -> csvfile.Find:
    def find(raw: list[list[Any]]) -> headers.Header | None:
        try:
            return headers.find(raw, kind)
        except headers.HeaderError as exc:
            raise UnreadableFile(exc.args[0]) from None

    return find


def _no_header(raw: list[list[Any]], kind: ImportKind | None, sheets: list[str]) -> UnreadableFile:
    if not any(any(c not in (None, "") for c in row) for row in raw) and len(sheets) <= 1:
        return UnreadableFile(t("the file has no header row", "import.no_header"))
    if len(sheets) > 1:
        return UnreadableFile(
            t(
                "no sheet of the workbook has the ledger's headers in its first {rows} rows; "
                "sheets found: {sheets}",
                "import.no_matching_sheet",
                rows=headers.HEADER_SEARCH_ROWS,
                sheets=", ".join(sheets),
            )
        )
    return UnreadableFile(headers.not_found(raw, kind))


_HEAD_ROWS = headers.HEADER_SEARCH_ROWS + 1


def _number(row: list[Any], at: int) -> bool:
    value = row[at] if at < len(row) else None
    return isinstance(value, int | float) and not isinstance(value, bool)


def _xlsx_table(kind: ImportKind | None, content: bytes) -> csvfile.Columns:
    find = _finder(kind)
    index, head = workbook.locate(content, lambda rows: find(rows) is not None, _HEAD_ROWS)
    if index < 0:
        raise _no_header(head, kind, workbook.sheet_names(content))
    raw = workbook.load(content, index)
    header = find(raw[:_HEAD_ROWS])
    if header is None:  # the XML's first rows and calamine's disagree: a damaged file
        raise workbook.damaged("the header rows cannot be read")
    keys, order = list(header.positions), list(header.positions.values())
    id_at = header.positions.get("id_number") if header.kind is ImportKind.households else None
    rows: list[list[str]] = []
    numbers: list[int] = []
    body = raw[header.index + 1 :]
    written: dict[int, str] = {}
    if id_at is not None and any(_number(row, id_at) for row in body):
        written = workbook.number_texts(content, index, id_at)
    for number, row in enumerate(body, start=header.index + 2):
        if not any(c not in (None, "") for c in row):
            continue
        cells = [
            id_cell(v, written.get(number)) if i == id_at else _cell(v) for i, v in enumerate(row)
        ]
        cells += [""] * (max(order) + 1 - len(cells))
        first = next((c for c in cells if c), "")
        rows.append([*(cells[i] for i in order), first])
        numbers.append(number)
    by_column: list[Any] = (
        list(zip(*rows, strict=True)) if rows else [[] for _ in range(len(keys) + 1)]
    )
    return csvfile.Columns(csvfile.frame_of([*keys, FIRST], by_column), numbers, header)


def _table(kind: ImportKind | None, filename: str, content: bytes) -> csvfile.Columns:
    if not content:
        raise UnreadableFile(t("the file is empty", "import.empty_file"))
    if file_format(filename, content) == "xlsx":
        return _xlsx_table(kind, content)
    table = csvfile.read(_finder(kind), content)
    if table is None:
        raw = csvfile.rows_of(_head_text(content))
        raise _no_header(raw[: headers.HEADER_SEARCH_ROWS + 1], kind, [""])
    return table


def _head_text(content: bytes, limit: int = 256 * 1024) -> str:
    """Enough of a CSV file to say why no header was found in it (cut at a line end)."""
    if len(content) > limit and not content.startswith((b"\xff\xfe", b"\xfe\xff")):
        end = content.rfind(b"\n", 0, limit)
        content = content[: end + 1] if end > 0 else content
    return decode_text(content)


def read(kind: ImportKind | None, filename: str, content: bytes) -> Sheet:
    """The ledger's table (kind as sent, or as its headers say)."""
    table = _table(kind, filename, content)
    return _body(table.header.kind, table)


def detect_kind(filename: str, content: bytes) -> ImportKind:
    """The ledger's kind, from the headers of the sheet that has them."""
    if content and file_format(filename, content) == "csv":
        raw = csvfile.rows_of(_head_text(content))[: headers.HEADER_SEARCH_ROWS + 1]
        header = _finder(None)(raw)
        if header is None:
            raise _no_header(raw, None, [""])
        return header.kind
    if not content:
        raise UnreadableFile(t("the file is empty", "import.empty_file"))
    find = _finder(None)
    index, head = workbook.locate(content, lambda rows: find(rows) is not None, _HEAD_ROWS)
    found = find(head) if index >= 0 else None
    if found is None:
        raise _no_header(head, None, workbook.sheet_names(content))
    return found.kind
