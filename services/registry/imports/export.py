"""Ledger export (台账导出): the households template's columns, one row per resident member,
so an exported file imports again as unchanged. CSV streams straight out of ``COPY TO``;
XLSX is written row by row (openpyxl write-only) from a server-side cursor."""

import asyncio
import tempfile
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.imports import template as t
from services.registry.regions.repository import RegionRepository
from shared import clock, people, spreadsheet
from shared.auth import Principal, Role

EXPORT_ROLES = (
    Role.province_admin,
    Role.county_officer,
    Role.township_officer,
    Role.village_cadre,
    Role.auditor,
    Role.service,
)
CHUNK = 64 * 1024


def _case(column: str, labels: dict[Any, str]) -> str:
    def lit(v: Any) -> str:
        return str(v) if isinstance(v, int | bool) else f"'{v}'"

    whens = " ".join(f"WHEN {lit(k)} THEN '{v}'" for k, v in labels.items())
    return f"CASE {column} {whens} END"


def export_query(principal: Principal) -> str:
    """The ledger's rows, with ID numbers and birth dates as ``principal`` may see them (the
    masking rule of ``shared.people``: masked readers get the birth year alone)."""
    id_number = people.id_number_sql(principal, "m.id_number")
    yes_no = t.YES_NO_LABELS
    values = [
        "h.household_no",
        "h.region_code",
        "h.address",
        _case("h.category", t.CATEGORY_LABELS),
        "coalesce((SELECT string_agg(c, '、' ORDER BY n) FROM "
        "jsonb_array_elements_text(h.poverty_causes) WITH ORDINALITY AS x(c, n)), '')",
        _case("h.relocated", yes_no),
        "coalesce(h.phone, '')",
        "m.name",
        id_number,
        _case("m.relation", t.RELATION_LABELS),
        _case("m.sex", t.SEX_LABELS),
        people.birth_date_sql(principal, "m.birth_date"),
        "m.ethnicity",
        "coalesce(m.education, '')",
        f"CASE WHEN m.schooling_stage = 'dropout' THEN '{t.DROPOUT}' "
        f"WHEN NOT m.in_school THEN '{t.NOT_IN_SCHOOL}' "
        f"ELSE coalesce({_case('m.schooling_stage', t.SCHOOLING_LABELS)}, "
        f"'{t.IN_SCHOOL_UNKNOWN_STAGE}') END",
        _case("m.health", t.HEALTH_LABELS),
        _case("m.disability_grade", t.DISABILITY_LABELS),
        _case("m.labour_capacity", t.LABOUR_LABELS),
        "m.migrant_work_months::text",
        _case("m.medical_insurance", yes_no),
        _case("m.pension_insurance", yes_no),
        _case("m.dibao", yes_no),
        _case("m.tekun", yes_no),
    ]
    # Every cell through the formula guard: text a cadre typed (an address "=HYPERLINK(...)",
    # a name starting with "-") must reach Excel or WPS as text, not as a formula.
    columns = ",\n ".join(
        f'{spreadsheet.neutralise_sql(v)} AS "{c.header}"'
        for v, c in zip(values, t.HOUSEHOLD_COLUMNS, strict=True)
    )
    return f"""SELECT {columns}
  FROM registry.households h
  JOIN registry.members m ON m.household_id = h.id AND m.departed_on IS NULL
 WHERE h.region_code LIKE $1
 ORDER BY h.household_no, m.relation <> 'head', m.created_at, m.id_number"""


async def _driver(session: AsyncSession) -> Any:
    conn = await session.connection()
    return (await conn.get_raw_connection()).driver_connection


async def stream_csv(
    session_maker: async_sessionmaker[AsyncSession], principal: Principal, prefix: str
) -> AsyncIterator[bytes]:
    """``COPY (query) TO STDOUT`` chunks, passed on as they arrive (bounded queue: a slow
    client slows the copy instead of filling memory)."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=16)

    async def produce() -> None:
        try:
            async with session_maker() as session:
                driver = await _driver(session)

                async def sink(chunk: bytes) -> None:
                    await queue.put(bytes(chunk))

                await driver.copy_from_query(
                    export_query(principal),
                    prefix + "%",
                    output=sink,
                    format="csv",
                    header=True,
                )
        finally:
            await queue.put(None)

    task = asyncio.create_task(produce())
    try:
        yield "\ufeff".encode()
        while (chunk := await queue.get()) is not None:
            yield chunk
        await task  # surface a failed copy
    finally:
        if not task.done():
            task.cancel()


# Columns Excel must keep as text (an ID number or a phone typed over would lose digits or
# become 5.22301E+17), columns that are real dates or numbers, and widths that show a full
# cell (in Excel's character units; a Chinese character counts two).
_TEXT_KEYS = frozenset({"household_no", "region_code", "phone", "id_number"})
_WIDTHS = {"id_number": 22, "household_no": 20, "region_code": 15, "address": 30, "phone": 14}


def _width(column: t.Column) -> float:
    header = sum(2 if ord(ch) > 0x2E7F else 1 for ch in column.header)
    return max(_WIDTHS.get(column.key, 0), header + 2, 8)


def _typed(key: str, value: Any) -> Any:
    """The cell as Excel should hold it: a date cell for a full birth date (a masked reader
    gets the year alone, a number), a number for months of migrant work."""
    if value is None or value == "":
        return value
    if key == "birth_date":
        return date.fromisoformat(value) if len(value) == 10 else int(value)
    if key == "migrant_work_months":
        return int(value)
    return spreadsheet.neutralise(value)


async def stream_xlsx(
    session_maker: async_sessionmaker[AsyncSession], principal: Principal, prefix: str
) -> AsyncIterator[bytes]:
    """A workbook to open and read in Excel or WPS: a frozen header, widths that show every
    column, ID numbers and codes as text, dates and numbers as themselves. It imports again
    as unchanged (the reader takes date and number cells)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("户籍台账")
    sheet.freeze_panes = "A2"
    columns = t.HOUSEHOLD_COLUMNS
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _width(column)
    sheet.append([c.header for c in columns])
    keys = [c.key for c in columns]

    def row(record: Any) -> list[Any]:
        cells: list[Any] = []
        for key, value in zip(keys, record, strict=True):
            typed = _typed(key, value)
            if key in _TEXT_KEYS or (key == "birth_date" and isinstance(typed, date)):
                cell = WriteOnlyCell(sheet, value=typed)
                cell.number_format = "yyyy-mm-dd" if key == "birth_date" else "@"
                typed = cell
            cells.append(typed)
        return cells

    async with session_maker() as session:
        driver = await _driver(session)
        async with driver.transaction():
            cursor = driver.cursor(export_query(principal), prefix + "%")
            async for record in cursor:
                sheet.append(row(record))
    with tempfile.TemporaryFile() as out:
        await asyncio.to_thread(book.save, out)
        out.seek(0)
        while chunk := out.read(CHUNK):
            yield chunk


async def content_disposition(
    session_maker: async_sessionmaker[AsyncSession], prefix: str, extension: str
) -> str:
    """``兴义市_户籍台账_2025-12-07.xlsx``: the region's name, what the file is and the day
    (China's), as RFC 6266 says: a UTF-8 ``filename*`` and an ASCII ``filename`` for
    clients that read only that one."""
    code = prefix.ljust(12, "0")
    async with session_maker() as session:
        region = await RegionRepository(session).get_by_code(code)
    day = clock.today().isoformat()
    name = f"{region.name if region is not None else code}_户籍台账_{day}.{extension}"
    return spreadsheet.attachment(name, fallback=f"{code}_households_{day}.{extension}")
