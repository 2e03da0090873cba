"""An uploaded XLSX workbook, bounded before anything is loaded and loaded one sheet at most.

A workbook is a zip of XML parts, and a few kilobytes of it can describe gigabytes of cells:
a cell far out (the reader allocates every cell up to it), twenty sheets each under a
per-sheet limit, a shared string of 30,000 characters referenced by 100,000 cells (each cell
gets its own copy), or a part that inflates a thousand times. So the whole file is measured
from its zip directory and its XML, streamed, before any cell is read: the cells of all the
sheets together, the shared strings' size, the inflated size and ratio. The header is looked
for in each sheet's first rows, read from the XML as a stream; only the sheet that has it is
loaded, and only once the text its cells would copy is known to fit."""

import io
import re
import zipfile
import zlib
from typing import Any
from xml.etree.ElementTree import iterparse

import polars as pl

from services.registry.imports.errors import UnreadableFile
from shared.i18n import t

# A ledger has 23 columns; 370,000 member rows (the largest county) are 8.5 million cells.
MAX_COLUMNS = 200
MAX_CELLS = 20_000_000  # over all the sheets of the workbook together
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 256 * 1024 * 1024
# The text the read sheet's string cells copy out of the shared strings (a county's ledger:
# some 200 MB).
MAX_STRING_CELL_BYTES = 1024 * 1024 * 1024
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
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def damaged(error: object) -> UnreadableFile:
    return UnreadableFile(
        t(
            "the XLSX file cannot be read (is it truncated or damaged?): {error}",
            "import.file_damaged",
            error=str(error),
        )
    )


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


def _refuse(code: str, template: str, **params: Any) -> UnreadableFile:
    return UnreadableFile(t(template, code, **params))


def _scan_part(book: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """The cells an XML part spans (rows by columns, by its declared dimension and by every
    row number and far-out cell reference), read as a stream; refused at once when one part
    alone is over the limits."""
    rows = columns = declared_cells = 0
    tail = b""
    with book.open(info) as stream:
        first = True
        while chunk := stream.read(_SCAN_CHUNK):
            data = tail + chunk
            if first:
                first = False
                if declared := _DIMENSION.search(data[:65536]):
                    start_col, start_row, end_col, end_row = declared.groups()
                    last_col = _column_number(end_col or start_col or b"A")
                    last_row = int(end_row or start_row or b"1")
                    _refuse_size(info.filename, last_row, last_col)
                    declared_cells = last_row * last_col
            for match in _ROW_NUMBER.finditer(data):
                rows = max(rows, int(match.group(1)))
            for match in _FAR_CELL.finditer(data):
                ref = _REF.match(match.group(1))
                if ref is not None:
                    columns = max(columns, _column_number(ref.group(1)))
                    rows = max(rows, int(ref.group(2)))
            _refuse_size(info.filename, rows, max(columns, 26 if rows else 0))
            tail = data[-256:]  # a tag cut between two chunks is read whole with the next
    return max(declared_cells, rows * max(columns, 26 if rows else 0))


def check_workbook(content: bytes) -> None:
    """Refuse, before reading any cell, a workbook that would take more memory than a ledger
    can need: a zip bomb (too much uncompressed data, or compressed too well), shared
    strings over their limit, or sheets spanning too many cells, each or all together."""
    try:
        book = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise damaged(exc) from None
    with book:
        entries = book.infolist()
        total = sum(e.file_size for e in entries)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise _refuse(
                "import.too_large_unpacked",
                "the XLSX file unpacks to {size} bytes, over the limit of {limit}: split "
                "the ledger or save it as CSV",
                size=f"{total:,}",
                limit=f"{MAX_UNCOMPRESSED_BYTES:,}",
            )
        for entry in entries:
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > _RATIO_APPLIES_ABOVE and ratio > MAX_COMPRESSION_RATIO:
                raise _refuse(
                    "import.zip_bomb",
                    "the XLSX file looks like a zip bomb: {part} unpacks {ratio} times its "
                    "size ({size} bytes)",
                    part=entry.filename,
                    ratio=f"{ratio:,.0f}",
                    size=f"{entry.file_size:,}",
                )
            strings = entry.filename.endswith("sharedStrings.xml")
            if strings and entry.file_size > MAX_SHARED_STRINGS_BYTES:
                raise _refuse(
                    "import.shared_strings_too_large",
                    "the XLSX file's shared strings unpack to {size} bytes, over the "
                    "limit of {limit}: save the ledger as CSV",
                    size=f"{entry.file_size:,}",
                    limit=f"{MAX_SHARED_STRINGS_BYTES:,}",
                )
        # Every XML part, not only xl/worksheets/: the workbook's relationships may put a
        # sheet anywhere in the archive. The cells of all of them count together.
        cells = 0
        for entry in entries:
            if entry.filename.endswith(".xml"):
                try:
                    cells += _scan_part(book, entry)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise damaged(exc) from None
                if cells > MAX_CELLS:
                    raise _refuse(
                        "import.workbook_too_large",
                        "the XLSX file's sheets span {cells} cells together, over the limit "
                        "of {limit}: keep only the ledger's sheet, or save it as CSV",
                        cells=f"{cells:,}",
                        limit=f"{MAX_CELLS:,}",
                    )


def _parts(book: zipfile.ZipFile) -> tuple[list[str], list[str], str | None]:
    """The sheets' names and XML parts in the workbook's order, and the shared strings'
    part."""
    names = set(book.namelist())
    rels: dict[str, str] = {}
    strings = None
    with book.open("xl/_rels/workbook.xml.rels") as stream:
        for _, element in iterparse(stream):
            if element.tag.endswith("Relationship"):
                target = element.get("Target", "").lstrip("/")
                target = target if target.startswith("xl/") else f"xl/{target}"
                rels[element.get("Id", "")] = target
                if element.get("Type", "").endswith("/sharedStrings") and target in names:
                    strings = target
    sheet_names, parts = [], []
    with book.open("xl/workbook.xml") as stream:
        for _, element in iterparse(stream):
            if element.tag == f"{_MAIN}sheet":
                sheet_names.append(element.get("name", ""))
                parts.append(rels.get(element.get(f"{_REL}id", ""), ""))
    return sheet_names, parts, strings


def _strings(book: zipfile.ZipFile, part: str | None) -> list[str]:
    """The shared strings (bounded in size by ``check_workbook``)."""
    if part is None:
        return []
    out = []
    with book.open(part) as stream:
        for _, element in iterparse(stream):
            if element.tag == f"{_MAIN}si":
                out.append("".join(x.text or "" for x in element.iter(f"{_MAIN}t")))
                element.clear()
    return out


def _column_index(ref: str) -> int:
    number = 0
    for letter in ref:
        if not letter.isalpha():
            break
        number = number * 26 + (ord(letter.upper()) - 64)
    return number - 1


def _head_rows(book: zipfile.ZipFile, part: str, strings: list[str], count: int) -> list[list[Any]]:
    """The sheet's first ``count`` rows as cell values (text, numbers), streamed from its
    XML: enough to find the header without loading the sheet."""
    rows: list[list[Any]] = []
    if part not in book.namelist():
        return rows
    with book.open(part) as stream:
        for _, element in iterparse(stream):
            if element.tag != f"{_MAIN}row":
                continue
            number = int(element.get("r") or len(rows) + 1)
            if number > count:
                break
            while len(rows) < number - 1:
                rows.append([])
            cells: list[Any] = []
            for cell in element.iter(f"{_MAIN}c"):
                index = _column_index(cell.get("r", "")) if cell.get("r") else len(cells)
                kind, value = cell.get("t"), cell.findtext(f"{_MAIN}v")
                if kind == "s" and value is not None and value.isdigit():
                    text: Any = strings[int(value)] if int(value) < len(strings) else ""
                elif kind == "inlineStr":
                    text = "".join(x.text or "" for x in cell.iter(f"{_MAIN}t"))
                else:
                    text = value or ""
                cells.extend([""] * (index - len(cells)))
                cells.append(text)
            rows.append(cells)
            element.clear()
    return rows


_STRING_CELL = r'<c\b[^>]*?\bt="s"[^>]*>\s*<v>[0-9]+</v>'


def _string_cell_bytes(book: zipfile.ZipFile, part: str, lengths: pl.Series) -> int:
    """The text the sheet's shared-string cells copy (each cell its own copy of the string
    it refers to), counted from the sheet's XML as a stream, by column expressions."""
    total, tail = 0, b""
    with book.open(part) as stream:
        while chunk := stream.read(_SCAN_CHUNK):
            data = tail + chunk
            cut = data.rfind(b"</c>") + 4 if b"</c>" in data else 0
            data, tail = data[:cut], data[cut:]
            if not data:
                continue
            found = (
                pl.Series([data.decode("utf-8", "replace")])
                .str.extract_all(_STRING_CELL)
                .explode()
                .drop_nulls()
                .str.extract(r"<v>([0-9]+)</v>")
                .cast(pl.Int64)
            )
            found = found.filter(found < len(lengths))
            if found.len():
                total += int(lengths.gather(found).sum())
    return total


def _find_sheet(content: bytes, match: Any, head_rows: int) -> tuple[int, list[list[Any]]]:
    """The index of the first sheet whose first rows ``match`` accepts, and those rows;
    (-1, the first sheet's rows) when none does. Refused when that sheet's string cells
    would copy more text than a ledger holds."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            _, parts, strings_part = _parts(book)
            strings = _strings(book, strings_part)
            first: list[list[Any]] = []
            for index, part in enumerate(parts):
                rows = _head_rows(book, part, strings, head_rows)
                if index == 0:
                    first = rows
                if match(rows):
                    lengths = pl.Series([len(s.encode()) for s in strings], dtype=pl.Int64)
                    copied = _string_cell_bytes(book, part, lengths) if strings else 0
                    if copied > MAX_STRING_CELL_BYTES:
                        raise _refuse(
                            "import.strings_too_large",
                            "the XLSX sheet's cells hold {size} bytes of text, over the limit "
                            "of {limit}: save the ledger as CSV",
                            size=f"{copied:,}",
                            limit=f"{MAX_STRING_CELL_BYTES:,}",
                        )
                    return index, rows
            return -1, first
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError, SyntaxError) as exc:
        raise damaged(exc) from None


def number_texts(content: bytes, index: int, column: int) -> dict[int, str]:
    """The numbers of one column of a sheet as its XML writes them, by row number: what a
    number cell holds before it becomes a float (18 digits survive in the file when a tool
    other than Excel wrote them; a float keeps 15 to 17)."""
    letters = ""
    number = column + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    cell = rf'<c r="{letters}[0-9]+"[^>]*>\s*<v>[^<]*</v>'
    found: dict[int, str] = {}
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        part = _parts(book)[1][index]
        tail = b""
        with book.open(part) as stream:
            while chunk := stream.read(_SCAN_CHUNK):
                data = tail + chunk
                cut = data.rfind(b"</c>") + 4 if b"</c>" in data else 0
                data, tail = data[:cut], data[cut:]
                cells = (
                    pl.Series([data.decode("utf-8", "replace")])
                    .str.extract_all(cell)
                    .explode()
                    .drop_nulls()
                )
                cells = cells.filter(~cells.str.contains(r'\bt="(s|str|inlineStr|b|e)"'))
                rows = cells.str.extract(r'r="[A-Z]+([0-9]+)"').cast(pl.Int64).to_list()
                values = cells.str.extract(r"<v>([^<]*)</v>").to_list()
                found.update(zip(rows, values, strict=True))
    return found


def sheet_names(content: bytes) -> list[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            return _parts(book)[0]
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError, SyntaxError) as exc:
        raise damaged(exc) from None


def locate(content: bytes, match: Any, head_rows: int) -> tuple[int, list[list[Any]]]:
    """Check the whole workbook, then find the sheet with the header (see ``_find_sheet``)."""
    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise damaged("not a zip archive")
    check_workbook(content)
    return _find_sheet(content, match, head_rows)


def load(content: bytes, index: int) -> list[list[Any]]:
    """One sheet's cells (the workbook checked, and the sheet found, by ``locate``)."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        rows: list[list[Any]] = workbook.get_sheet_by_index(index).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own types for every kind of damage
        raise damaged(exc) from None
    return rows
