"""Reading an uploaded ledger: CSV (UTF-8 with or without BOM, or GBK) or XLSX, into a header
and rows of text cells. A file that cannot be read fails the whole import with a clear reason."""

import csv
import io
import itertools
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from services.registry.imports.template import COLUMNS, ImportKind, header_key
from shared import spreadsheet
from shared.i18n import t

XLSX_MAGIC = b"PK\x03\x04"


class UnreadableFile(ValueError):
    """The whole file is refused; the message says why."""


@dataclass
class Sheet:
    """The ledger's cells as text columns, one per template column (named by its key, in the
    template's order); ``row_numbers`` are the rows' numbers in the file (the header is row
    1)."""

    columns: pl.DataFrame
    row_numbers: list[int]
    kind: ImportKind | None = None

    @property
    def rows(self) -> list[list[str]]:
        """The same cells row by row."""
        return [list(row) for row in self.columns.iter_rows()]


def _frame(keys: list[str], by_column: list[Any]) -> pl.DataFrame:
    return pl.DataFrame(
        [pl.Series(k, v, dtype=pl.String) for k, v in zip(keys, by_column, strict=True)]
    )


def columns_of(kind: ImportKind, rows: list[list[str]]) -> pl.DataFrame:
    """Rows of cells (in the template's order) as the sheet's columns."""
    keys = [c.key for c in COLUMNS[kind]]
    return _frame(keys, list(zip(*rows, strict=True)) if rows else [[] for _ in keys])


# What ``str.strip()`` takes away (Python's whitespace, which differs from Rust's in four
# control characters), so the column expression trims cells exactly as the row reader did.
_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())


def _clean(column: str) -> pl.Expr:
    """``spreadsheet.restore(cell.strip())`` as an expression over a text column."""
    cell = pl.col(column).str.strip_chars(_WHITESPACE)
    neutralised = cell.str.starts_with("'") & cell.str.slice(1, 1).is_in(
        list(spreadsheet._FORMULA_STARTS)
    )
    return pl.when(neutralised).then(cell.str.slice(1)).otherwise(cell).alias(column)


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
            t(
                "the file contains NUL characters: it is not UTF-8, UTF-16 or GBK text "
                "(save it as CSV UTF-8 or as XLSX)",
                "import.nul_characters",
            )
        )
    return text


def _decode(content: bytes, encoding: str) -> str:
    try:
        return content.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            t(
                "the file is neither UTF-8 nor GBK text (bad byte at offset {offset}); "
                "it may be truncated or not a CSV file",
                "import.encoding",
                offset=exc.start,
            )
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
            t(
                "the XLSX sheet {sheet} spans {rows} rows by {columns} columns ({cells} cells); "
                "a ledger may span at most {max_columns} columns and {max_cells} cells: delete "
                "the stray cells far outside the table, or save the sheet as CSV",
                "import.sheet_too_large",
                sheet=sheet,
                rows=f"{rows:,}",
                columns=f"{columns:,}",
                cells=f"{rows * columns:,}",
                max_columns=MAX_COLUMNS,
                max_cells=f"{MAX_CELLS:,}",
            )
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
        raise UnreadableFile(
            t(
                "the XLSX file cannot be read (is it truncated or damaged?): {error}",
                "import.file_damaged",
                error=str(exc),
            )
        ) from None
    with book:
        entries = book.infolist()
        total = sum(e.file_size for e in entries)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise UnreadableFile(
                t(
                    "the XLSX file unpacks to {size} bytes, over the limit of {limit}: split "
                    "the ledger or save it as CSV",
                    "import.too_large_unpacked",
                    size=f"{total:,}",
                    limit=f"{MAX_UNCOMPRESSED_BYTES:,}",
                )
            )
        for entry in entries:
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > _RATIO_APPLIES_ABOVE and ratio > MAX_COMPRESSION_RATIO:
                raise UnreadableFile(
                    t(
                        "the XLSX file looks like a zip bomb: {part} unpacks {ratio} times its "
                        "size ({size} bytes)",
                        "import.zip_bomb",
                        part=entry.filename,
                        ratio=f"{ratio:,.0f}",
                        size=f"{entry.file_size:,}",
                    )
                )
        # Every XML part, not only xl/worksheets/: the workbook's relationships may put the
        # first sheet anywhere in the archive.
        for entry in entries:
            if entry.filename.endswith(".xml"):
                try:
                    _scan_sheet(book, entry)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise UnreadableFile(
                        t(
                            "the XLSX file cannot be read (is it truncated or damaged?): {error}",
                            "import.file_damaged",
                            error=str(exc),
                        )
                    ) from None


class _Sheets:
    """A file's sheets by name, each read (into rows of raw cell values) only when asked
    for: the first sheet that matches is the last one read. ``nrows`` reads only the first
    rows (enough to find the header)."""

    def __init__(self, names: list[str], load: Callable[[int], list[list[Any]]]) -> None:
        self.names, self._load = names, load
        self._rows: dict[int, list[list[Any]]] = {}

    def rows(self, index: int) -> list[list[Any]]:
        if index not in self._rows:
            self._rows[index] = self._load(index)
        return self._rows[index]

    def __iter__(self) -> Iterator[tuple[str, list[list[Any]]]]:
        for index, name in enumerate(self.names):
            yield name, self.rows(index)


def _damaged(exc: Exception) -> UnreadableFile:
    return UnreadableFile(
        t(
            "the XLSX file cannot be read (is it truncated or damaged?): {error}",
            "import.file_damaged",
            error=str(exc),
        )
    )


def _xlsx_sheets(content: bytes, nrows: int | None = None) -> _Sheets:
    """The workbook's sheets, each read when first asked for."""
    from python_calamine import CalamineWorkbook

    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise UnreadableFile(
            t(
                "the XLSX file cannot be read (is it truncated or damaged?): not a zip archive",
                "import.file_damaged",
            )
        )
    check_workbook(content)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        names = list(workbook.sheet_names)
    except Exception as exc:  # calamine raises its own types for every kind of damage
        raise _damaged(exc) from None

    def load(index: int) -> list[list[Any]]:
        try:
            sheet = workbook.get_sheet_by_index(index)
            return sheet.to_python(skip_empty_area=False, nrows=nrows)
        except Exception as exc:
            raise _damaged(exc) from None

    return _Sheets(names, load)


def _csv_rows(content: bytes) -> list[list[str]]:
    text = decode_text(content)
    try:
        return [
            [spreadsheet.restore(c.strip()) for c in row]
            for row in csv.reader(io.StringIO(text, newline=""))
        ]
    except csv.Error as exc:
        raise UnreadableFile(
            t("the CSV file cannot be read: {error}", "import.csv_unreadable", error=str(exc))
        ) from None


# Ledgers start with a title row ("XX村脱贫户信息台账") and sometimes a unit or date row: the
# header is the first of the sheet's first rows that holds every column of a ledger.
HEADER_SEARCH_ROWS = 10


@dataclass
class _Header:
    index: int  # in the sheet's rows (the sheet's row number - 1)
    kind: ImportKind
    positions: dict[str, int]


def _keys(row: list[Any]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, cell in enumerate(row):
        key = header_key(cell) if isinstance(cell, str) else ""
        if key and key not in positions:
            positions[key] = i
    return positions


def _missing(kind: ImportKind, positions: dict[str, int]) -> list[str]:
    return [c.header for c in COLUMNS[kind] if header_key(c.header) not in positions]


def _find_header(raw: list[list[Any]], kind: ImportKind | None) -> _Header | None:
    kinds = [kind] if kind is not None else list(ImportKind)
    for index, row in enumerate(raw[:HEADER_SEARCH_ROWS]):
        positions = _keys(row)
        if not positions:
            continue
        matched = [k for k in kinds if not _missing(k, positions)]
        if len(matched) > 1:
            raise UnreadableFile(
                t(
                    "row {row} has the headers of both a households and an economics ledger: "
                    "send kind (households or economics) with the file",
                    "import.kind_ambiguous",
                    row=index + 1,
                )
            )
        if matched:
            return _Header(index, matched[0], positions)
    return None


def _closest_missing(raw: list[list[Any]], kind: ImportKind) -> list[str]:
    """The headers the most ledger-like of the first rows lacks."""
    candidates = [_missing(kind, _keys(row)) for row in raw[:HEADER_SEARCH_ROWS]]
    return min(candidates, key=len) if candidates else [c.header for c in COLUMNS[kind]]


def _no_header(sheets: _Sheets, kind: ImportKind | None) -> UnreadableFile:
    if not any(any(c not in (None, "") for c in row) for _, raw in sheets for row in raw):
        return UnreadableFile(t("the file has no header row", "import.no_header"))
    if len(sheets.names) > 1:
        return UnreadableFile(
            t(
                "no sheet of the workbook has the ledger's headers in its first {rows} rows; "
                "sheets found: {sheets}",
                "import.no_matching_sheet",
                rows=HEADER_SEARCH_ROWS,
                sheets=", ".join(sheets.names),
            )
        )
    raw = sheets.rows(0)
    if kind is None:
        return UnreadableFile(
            t(
                "the headers in the first {rows} rows are neither those of a households ledger "
                "nor of an economics ledger: start from the template "
                "(GET /v1/imports/template), or send kind with the file",
                "import.kind_unknown",
                rows=HEADER_SEARCH_ROWS,
            )
        )
    return UnreadableFile(
        t(
            "the file lacks the required headers: {headers}",
            "import.missing_headers",
            headers=", ".join(_closest_missing(raw, kind)),
        )
    )


# Enough of a big CSV file to find its header in (cut at a line end, which never falls
# inside a UTF-8 or GBK character).
_CSV_HEAD_BYTES = 256 * 1024
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _sheets(filename: str, content: bytes, *, head: bool = False) -> _Sheets:
    if not content:
        raise UnreadableFile(t("the file is empty", "import.empty_file"))
    if file_format(filename, content) == "xlsx":
        return _xlsx_sheets(content, HEADER_SEARCH_ROWS if head else None)
    rows = None
    if head and len(content) > _CSV_HEAD_BYTES and not content.startswith(_UTF16_BOMS):
        end = content.rfind(b"\n", 0, _CSV_HEAD_BYTES)
        try:
            rows = _csv_rows(content[: end + 1]) if end > 0 else None
        except UnreadableFile:  # cut inside a quoted cell: read it all
            rows = None
    if rows is None:
        rows = _csv_rows(content)
    return _Sheets([""], lambda _: rows)


def _locate(sheets: _Sheets, kind: ImportKind | None) -> tuple[list[list[Any]], _Header]:
    for _, raw in sheets:
        header = _find_header(raw, kind)
        if header is not None:
            return raw, header
    raise _no_header(sheets, kind)


def detect_kind(filename: str, content: bytes) -> ImportKind:
    """The ledger's kind, from the headers of the sheet that has them."""
    return _locate(_sheets(filename, content, head=True), None)[1].kind


def excel_number(value: float) -> str:
    """A number as Excel's General format shows it once it has more digits than fit
    (``5.22301E+17``)."""
    return f"{value:.5E}".replace("E+0", "E+").replace(".00000E", "E")


# Lines as ``io.StringIO(text, newline="")`` gives them to the csv reader (ended by \r\n, \r
# or \n, kept), without copying the whole text into a buffer again.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


# Rows moved into columns at a time: the cells of a block are Python strings until then.
_BLOCK_ROWS = 50_000


def _line_blocks(text: str, size: int = 4_000_000) -> Iterator[str]:
    """The text in blocks of whole lines (each but the last ends with a line feed)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + size)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _read_plain_csv(kind: ImportKind | None, text: str) -> Sheet | None:
    """A CSV text without any quote or bare carriage return (what spreadsheet programs write
    for a ledger whose cells hold no comma or line break): each line is a record and each
    comma separates two cells, so the file is split, trimmed and restored by column
    expressions, a block of lines at a time (splitting it all at once took several times
    the memory of the columns it makes). None when no header is found in the first rows."""
    first_lines = text.split("\n", HEADER_SEARCH_ROWS)[:HEADER_SEARCH_ROWS]
    head = [
        [spreadsheet.restore(c.strip()) for c in line.removesuffix("\r").split(",")]
        if line.removesuffix("\r")
        else []
        for line in first_lines
    ]
    header = _find_header(head, kind)
    if header is None:
        return None
    columns = COLUMNS[header.kind]
    keys = [c.key for c in columns]
    order = [header.positions[header_key(c.header)] for c in columns]
    width = len(head[header.index])
    line = pl.col("line")
    frames, numbers = [], []
    last: tuple[int, int] | None = None  # the last non-blank row's number and cell count
    row_no = 0  # rows before the block
    for block in _line_blocks(text):
        lines = pl.Series("line", [block]).str.split("\n").explode()
        if block.endswith("\n"):
            lines = lines.head(-1)
        body = (
            lines.str.strip_suffix("\r")
            .to_frame()
            .with_row_index("row_no", offset=row_no + 1)
            .filter(pl.col("row_no") > header.index + 1)
            # A row is blank when it has no character but whitespace (what trimming empties).
            .filter(line.str.replace_all(",", "", literal=True).str.strip_chars(_WHITESPACE) != "")
        )
        row_no += lines.len()
        if not body.height:
            continue
        last_row, last_line = body.row(-1)
        last = (last_row, last_line.count(",") + 1)
        cells = body.select(line.str.split(",").alias("cells"))
        frames.append(
            cells.select(
                pl.col("cells").list.get(i, null_on_oob=True).fill_null("").alias(k)
                for k, i in zip(keys, order, strict=True)
            ).with_columns(_clean(k) for k in keys)
        )
        numbers.extend(body["row_no"].to_list())
    if last is not None and last[1] < width:
        raise UnreadableFile(
            t(
                "the last row ({row}) has {cells} of {width} columns: the file looks truncated",
                "import.truncated",
                row=last[0],
                cells=last[1],
                width=width,
            )
        )
    frame = pl.concat(frames, rechunk=True) if frames else _frame(keys, [[] for _ in keys])
    return Sheet(columns=frame, row_numbers=numbers, kind=header.kind)


def _read_csv(kind: ImportKind | None, content: bytes) -> Sheet | None:
    """A CSV ledger read into columns: the C parser splits the records, the cells move into
    columns a block of rows at a time as they are, and are trimmed and restored there by
    column expressions (no Python call per cell, and never every row's cells as Python
    strings at once). None when no header is found in the first rows (``read`` then says
    why)."""
    text = decode_text(content)
    if '"' not in text and text.count("\r") == text.count("\r\n"):
        return _read_plain_csv(kind, text)
    records = csv.reader(m.group() for m in _LINE.finditer(text))
    frames: list[pl.DataFrame] = []
    numbers: list[int] = []
    last: tuple[int, int] | None = None  # the last non-blank row's number and cell count
    try:
        head = list(itertools.islice(records, HEADER_SEARCH_ROWS))
        cleaned = [[spreadsheet.restore(c.strip()) for c in row] for row in head]
        header = _find_header(cleaned, kind)
        if header is None:
            return None
        columns = COLUMNS[header.kind]
        keys = [c.key for c in columns]
        order = [header.positions[header_key(c.header)] for c in columns]
        width = len(head[header.index])
        block, first = head[header.index + 1 :], header.index + 2
        while block:
            # A row is blank when it has no character but whitespace (what trimming empties).
            body = [(first + j, row) for j, row in enumerate(block) if "".join(row).strip()]
            if body:
                last = (body[-1][0], len(body[-1][1]))
                padded = [
                    row if len(row) == width else (row + [""] * (width - len(row)))[:width]
                    for _, row in body
                ]
                by_position = list(zip(*padded, strict=True))
                frames.append(
                    _frame(keys, [by_position[i] for i in order]).with_columns(
                        _clean(k) for k in keys
                    )
                )
                numbers.extend(n for n, _ in body)
                del padded, by_position
            first += len(block)
            block = list(itertools.islice(records, _BLOCK_ROWS))
    except csv.Error as exc:
        raise UnreadableFile(
            t("the CSV file cannot be read: {error}", "import.csv_unreadable", error=str(exc))
        ) from None
    if last is not None and last[1] < width:
        raise UnreadableFile(
            t(
                "the last row ({row}) has {cells} of {width} columns: the file looks truncated",
                "import.truncated",
                row=last[0],
                cells=last[1],
                width=width,
            )
        )
    frame = pl.concat(frames, rechunk=True) if frames else _frame(keys, [[] for _ in keys])
    return Sheet(columns=frame, row_numbers=numbers, kind=header.kind)


def read(kind: ImportKind | None, filename: str, content: bytes) -> Sheet:
    xlsx = file_format(filename, content) == "xlsx" if content else False
    if content and not xlsx:
        sheet = _read_csv(kind, content)
        if sheet is not None:
            return sheet
    raw, header = _locate(_sheets(filename, content), kind)
    columns = COLUMNS[header.kind]
    positions = header.positions
    order = [positions[header_key(c.header)] for c in columns]
    width = len(raw[header.index])
    # An ID number typed into a cell Excel treats as a number has lost its last three
    # digits (Excel keeps 15): it is shown as Excel shows it, and refused as such.
    id_position = positions.get("证件号码") if header.kind is ImportKind.households else None
    identity = order == list(range(width))
    body = [
        (i + 1, row)
        for i, row in enumerate(raw[header.index + 1 :], start=header.index + 1)
        if any(c not in (None, "") for c in row)
    ]
    if body and len(body[-1][1]) < width and not xlsx:
        raise UnreadableFile(
            t(
                "the last row ({row}) has {cells} of {width} columns: the file looks truncated",
                "import.truncated",
                row=body[-1][0],
                cells=len(body[-1][1]),
                width=width,
            )
        )
    rows, numbers = [], []
    for number, row in body:
        if xlsx:
            cells = [_cell(v) for v in row]
            if id_position is not None and id_position < len(row):
                value = row[id_position]
                if isinstance(value, int | float) and not isinstance(value, bool):
                    cells[id_position] = excel_number(float(value))
            row = cells
        if len(row) < width:
            row = row + [""] * (width - len(row))
        if identity:
            rows.append(row if len(row) == width else row[:width])
        else:
            rows.append([row[i] for i in order])
        numbers.append(number)
    return Sheet(columns=columns_of(header.kind, rows), row_numbers=numbers, kind=header.kind)
