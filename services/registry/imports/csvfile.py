"""Reading a CSV ledger (UTF-8 with or without BOM, UTF-16 with BOM, or GBK) into text
columns, without a Python call per cell: the records are split by the C parser (or, for a file
without quotes, by column expressions), the cells move into columns a block of rows at a time
and are trimmed and restored there."""

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl

from services.registry.imports import headers
from services.registry.imports.errors import UnreadableFile
from shared import spreadsheet
from shared.i18n import t

# What ``str.strip()`` takes away (Python's whitespace, which differs from Rust's in four
# control characters), so the column expression trims cells exactly as the row reader did.
_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
# Rows moved into columns at a time: the cells of a block are Python strings until then.
_BLOCK_ROWS = 50_000
# Lines as ``io.StringIO(text, newline="")`` gives them to the csv reader (ended by \r\n, \r
# or \n, kept), without copying the whole text into a buffer again.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


@dataclass
class Columns:
    """A table's body as text columns named by the template's keys (those the header has),
    the rows' numbers in the file, and the header found."""

    frame: pl.DataFrame
    row_numbers: list[int]
    header: headers.Header


# The first non-blank cell of each row, wherever it is (a 合计 or 填表人 row often starts in
# a 序号 column the import does not read).
FIRST = "_first"


def empty(keys: list[str]) -> pl.DataFrame:
    return frame_of([*keys, FIRST], [[] for _ in range(len(keys) + 1)])


def frame_of(keys: list[str], by_column: list[Any]) -> pl.DataFrame:
    return pl.DataFrame(
        [pl.Series(k, v, dtype=pl.String) for k, v in zip(keys, by_column, strict=True)]
    )


def clean(column: str) -> pl.Expr:
    """``spreadsheet.restore(cell.strip())`` as an expression over a text column."""
    cell = pl.col(column).str.strip_chars(_WHITESPACE)
    neutralised = cell.str.starts_with("'") & cell.str.slice(1, 1).is_in(
        list(spreadsheet._FORMULA_STARTS)
    )
    return pl.when(neutralised).then(cell.str.slice(1)).otherwise(cell).alias(column)


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


def csv_error(exc: Exception) -> UnreadableFile:
    return UnreadableFile(
        t("the CSV file cannot be read: {error}", "import.csv_unreadable", error=str(exc))
    )


def rows_of(text: str) -> list[list[str]]:
    """Every record of a CSV text, cells trimmed and restored."""
    try:
        return [
            [spreadsheet.restore(c.strip()) for c in row]
            for row in csv.reader(io.StringIO(text, newline=""))
        ]
    except csv.Error as exc:
        raise csv_error(exc) from None


def _truncated(row: int, cells: int, width: int) -> UnreadableFile:
    return UnreadableFile(
        t(
            "the last row ({row}) has {cells} of {width} columns: the file looks truncated",
            "import.truncated",
            row=row,
            cells=cells,
            width=width,
        )
    )


def _line_blocks(text: str, size: int = 4_000_000) -> Iterator[str]:
    """The text in blocks of whole lines (each but the last ends with a line feed)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + size)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


Find = Callable[[list[list[Any]]], headers.Header | None]


def _read_plain(find: Find, text: str) -> Columns | None:
    """A CSV text without any quote or bare carriage return (what spreadsheet programs write
    for a ledger whose cells hold no comma or line break): each line is a record and each
    comma separates two cells, so the file is split, trimmed and restored by column
    expressions, a block of lines at a time. None when no header is found."""
    first_lines = text.split("\n", headers.HEADER_SEARCH_ROWS + 1)[: headers.HEADER_SEARCH_ROWS + 1]
    head = [
        [spreadsheet.restore(c.strip()) for c in line.removesuffix("\r").split(",")]
        if line.removesuffix("\r")
        else []
        for line in first_lines
    ]
    header = find(head)
    if header is None:
        return None
    keys, order = list(header.positions), list(header.positions.values())
    width = max(len(head[header.index]), max(order) + 1)
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
        cells = body.select(
            line.str.split(",").alias("cells"),
            line.str.extract(r"^[,\s]*([^,]*)").fill_null("").alias(FIRST),
        )
        frames.append(
            cells.select(
                *(
                    pl.col("cells").list.get(i, null_on_oob=True).fill_null("").alias(k)
                    for k, i in zip(keys, order, strict=True)
                ),
                FIRST,
            ).with_columns(clean(k) for k in [*keys, FIRST])
        )
        numbers.extend(body["row_no"].to_list())
    if last is not None and last[1] < width:
        raise _truncated(last[0], last[1], width)
    frame = pl.concat(frames, rechunk=True) if frames else empty(keys)
    return Columns(frame, numbers, header)


def read(find: Find, content: bytes) -> Columns | None:
    """A CSV ledger read into columns (the C parser splits the records when cells are
    quoted). None when no header is found in the first rows."""
    text = decode_text(content)
    if '"' not in text and text.count("\r") == text.count("\r\n"):
        return _read_plain(find, text)
    return _read_records(find, text)


def _read_records(find: Find, text: str) -> Columns | None:
    """Any CSV text, its records split by the C parser, moved into columns a block at a
    time."""
    records = csv.reader(m.group() for m in _LINE.finditer(text))
    frames: list[pl.DataFrame] = []
    numbers: list[int] = []
    last: tuple[int, int] | None = None  # the last non-blank row's number and cell count
    try:
        head = list(itertools.islice(records, headers.HEADER_SEARCH_ROWS + 1))
        header = find([[spreadsheet.restore(c.strip()) for c in row] for row in head])
        if header is None:
            return None
        keys, order = list(header.positions), list(header.positions.values())
        width = max(len(head[header.index]), max(order) + 1)
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
                firsts = [next((c for c in row if c.strip()), "") for _, row in body]
                frames.append(
                    frame_of(
                        [*keys, FIRST], [*(by_position[i] for i in order), firsts]
                    ).with_columns(clean(k) for k in [*keys, FIRST])
                )
                numbers.extend(n for n, _ in body)
                del padded, by_position
            first += len(block)
            block = list(itertools.islice(records, _BLOCK_ROWS))
    except csv.Error as exc:
        raise csv_error(exc) from None
    if last is not None and last[1] < width:
        raise _truncated(last[0], last[1], width)
    frame = pl.concat(frames, rechunk=True) if frames else empty(keys)
    return Columns(frame, numbers, header)
