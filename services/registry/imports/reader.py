"""Reading an uploaded ledger: CSV (UTF-8 with or without BOM, or GBK) or XLSX, into a header
and rows of text cells. A file that cannot be read fails the whole import with a clear reason."""

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.registry.imports.template import COLUMNS, ImportKind, header_key

XLSX_MAGIC = b"PK\x03\x04"


class UnreadableFile(ValueError):
    """The whole file is refused; the message says why."""


@dataclass
class Sheet:
    """Rows as lists of cells in the template's column order; ``row_numbers`` are the rows'
    numbers in the file (the header is row 1)."""

    rows: list[list[str]]
    row_numbers: list[int]


def file_format(filename: str, content: bytes) -> str:
    if content.startswith(XLSX_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm")):
        return "xlsx"
    return "csv"


def decode_text(content: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), or GBK."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _decode(content, "utf-16")
    else:
        if content.startswith(b"\xef\xbb\xbf"):
            content = content[3:]
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode(content, "gb18030")
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL; such a file is binary or mis-encoded, not a ledger.
        raise UnreadableFile(
            "the file contains NUL characters: it is not UTF-8, UTF-16 or GBK text "
            "(save it as CSV UTF-8 or as XLSX)"
        )
    return text


def _decode(content: bytes, encoding: str) -> str:
    try:
        return content.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"the file is neither UTF-8 nor GBK text (bad byte at offset {exc.start}); "
            "it may be truncated or not a CSV file"
        ) from None


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
    return str(value).replace("\x00", "").strip()


def _xlsx_rows(content: bytes) -> list[list[str]]:
    from python_calamine import CalamineWorkbook

    try:
        if not zipfile.is_zipfile(io.BytesIO(content)):
            raise ValueError("not a zip archive")
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own types for every kind of damage
        raise UnreadableFile(
            f"the XLSX file cannot be read (is it truncated or damaged?): {exc}"
        ) from None
    return [[_cell(v) for v in row] for row in rows]


def _csv_rows(content: bytes) -> list[list[str]]:
    text = decode_text(content)
    try:
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise UnreadableFile(f"the CSV file cannot be read: {exc}") from None


def read(kind: ImportKind, filename: str, content: bytes) -> Sheet:
    if not content:
        raise UnreadableFile("the file is empty")
    raw = _xlsx_rows(content) if file_format(filename, content) == "xlsx" else _csv_rows(content)
    numbered = [(i + 1, row) for i, row in enumerate(raw) if any(row)]
    if not numbered:
        raise UnreadableFile("the file has no header row")
    _, header = numbered[0]
    positions = {header_key(h): i for i, h in enumerate(header) if header_key(h)}
    columns = COLUMNS[kind]
    missing = [c.header for c in columns if header_key(c.header) not in positions]
    if missing:
        raise UnreadableFile(f"the file lacks the required headers: {', '.join(missing)}")
    order = [positions[header_key(c.header)] for c in columns]
    width = len(header)
    identity = order == list(range(width))
    body = numbered[1:]
    if body and len(body[-1][1]) < width and file_format(filename, content) == "csv":
        raise UnreadableFile(
            f"the last row ({body[-1][0]}) has {len(body[-1][1])} of {width} columns: "
            "the file looks truncated"
        )
    rows, numbers = [], []
    for number, row in body:
        if len(row) < width:
            row = row + [""] * (width - len(row))
        if identity:
            rows.append(row if len(row) == width else row[:width])
        else:
            rows.append([row[i] for i in order])
        numbers.append(number)
    return Sheet(rows=rows, row_numbers=numbers)
