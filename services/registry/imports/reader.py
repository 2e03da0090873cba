"""Reading an uploaded ledger: CSV (UTF-8 with or without BOM, or GBK) or XLSX, into a header
and rows of text cells. A file that cannot be read fails the whole import with a clear reason."""

import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.registry.imports.template import COLUMNS, ImportKind, header_key
from shared import spreadsheet

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
    # An exported cell that would have been a formula carries a leading apostrophe: read back
    # the value it stood for, so a ledger re-imports unchanged.
    return spreadsheet.restore(str(value).replace("\x00", "").strip())


# What a ledger workbook may be before anything reads its cells. The reader allocates every
# cell from A1 to the farthest one used, so a 5 KB file whose only cell is at XFD1048576
# asks for 17 billion cells and aborts the process: sizes are checked from the zip's
# directory and the sheet's XML first. A ledger has 23 columns; 370,000 member rows (the
# largest county) are 8.5 million cells.
MAX_COLUMNS = 200
MAX_CELLS = 20_000_000
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100  # sheet XML compresses 5-20 times; a zip bomb thousands of times
_RATIO_APPLIES_ABOVE = 16 * 1024 * 1024
_SCAN_CHUNK = 4 * 1024 * 1024
_DIMENSION = re.compile(
    rb'<(?:\w+:)?dimension\b[^>]*?\bref="([A-Z]+)?([0-9]+)?(?::([A-Z]+)([0-9]+))?"'
)
# Row elements' numbers, and cells whose reference is far out: a column of two or more
# letters (AA and beyond: a ledger never uses them) or a row of seven digits.
_ROW_NUMBER = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="([0-9]+)"')
_FAR_CELL = re.compile(rb'\br="([A-Z]{2,}[0-9]+|[A-Z]+[0-9]{7,})"')
_REF = re.compile(rb"([A-Z]+)([0-9]+)")


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - 64)
    return number


def _refuse_size(sheet: str, rows: int, columns: int) -> None:
    if columns > MAX_COLUMNS or rows * columns > MAX_CELLS:
        raise UnreadableFile(
            f"the XLSX sheet {sheet} spans {rows:,} rows by {columns:,} columns "
            f"({rows * columns:,} cells); a ledger may span at most {MAX_COLUMNS} columns "
            f"and {MAX_CELLS:,} cells: delete the stray cells far outside the table, or save "
            "the sheet as CSV"
        )


def _scan_sheet(book: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """The sheet's declared dimension, then every row number and far-out cell reference,
    read as a stream (never the whole sheet in memory)."""
    rows = columns = 0
    tail = b""
    with book.open(info) as stream:
        first = True
        while chunk := stream.read(_SCAN_CHUNK):
            data = tail + chunk
            if first:
                first = False
                if declared := _DIMENSION.search(data[:65536]):
                    start_col, start_row, end_col, end_row = declared.groups()
                    last_col = end_col or start_col or b"A"
                    last_row = end_row or start_row or b"1"
                    _refuse_size(info.filename, int(last_row), _column_number(last_col))
            for match in _ROW_NUMBER.finditer(data):
                rows = max(rows, int(match.group(1)))
            for match in _FAR_CELL.finditer(data):
                ref = _REF.match(match.group(1))
                if ref is not None:
                    columns = max(columns, _column_number(ref.group(1)))
                    rows = max(rows, int(ref.group(2)))
            _refuse_size(info.filename, rows, max(columns, 26 if rows else 0))
            tail = data[-256:]  # a tag cut between two chunks is read whole with the next


def check_workbook(content: bytes) -> None:
    """Refuse, before reading any cell, a workbook that would take more memory than a ledger
    can need: a zip bomb (too much uncompressed data, or compressed too well) or a sheet
    that spans too many cells (by its declared dimension or by its cells' references)."""
    try:
        book = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise UnreadableFile(f"the XLSX file cannot be read (is it truncated?): {exc}") from None
    with book:
        entries = book.infolist()
        total = sum(e.file_size for e in entries)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise UnreadableFile(
                f"the XLSX file unpacks to {total:,} bytes, over the limit of "
                f"{MAX_UNCOMPRESSED_BYTES:,}: split the ledger or save it as CSV"
            )
        for entry in entries:
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > _RATIO_APPLIES_ABOVE and ratio > MAX_COMPRESSION_RATIO:
                raise UnreadableFile(
                    f"the XLSX file looks like a zip bomb: {entry.filename} unpacks "
                    f"{ratio:,.0f} times its size ({entry.file_size:,} bytes)"
                )
        # Every XML part, not only xl/worksheets/: the workbook's relationships may put the
        # first sheet anywhere in the archive.
        for entry in entries:
            if entry.filename.endswith(".xml"):
                try:
                    _scan_sheet(book, entry)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise UnreadableFile(
                        f"the XLSX file cannot be read (is it damaged?): {exc}"
                    ) from None


def _xlsx_rows(content: bytes) -> list[list[str]]:
    from python_calamine import CalamineWorkbook

    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise UnreadableFile(
            "the XLSX file cannot be read (is it truncated or damaged?): not a zip archive"
        )
    check_workbook(content)
    try:
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
        return [
            [spreadsheet.restore(c.strip()) for c in row]
            for row in csv.reader(io.StringIO(text, newline=""))
        ]
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
