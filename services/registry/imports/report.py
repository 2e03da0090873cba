"""What an import gives back to the officials who fix the ledger: the rejected rows as a
workbook (``GET /v1/imports/{id}/rejections.xlsx``), and the masking every import read goes
through (reasons, file names and cells quote what the file held, ID numbers included)."""

import io
import re
from typing import Any

from services.registry.imports import reader
from services.registry.imports.template import COLUMNS, ImportKind
from shared import idnumber, spreadsheet
from shared.auth import Principal

# An ID number (or what Excel made of one: 18 digits ending in 000) and any other run of
# eleven digits or more (a phone number) inside free text.
_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_LONG_DIGITS = re.compile(r"(?<![0-9])[0-9]{11,}(?![0-9])")


def _mask_digits(match: re.Match[str]) -> str:
    run = match.group()
    return f"{run[:3]}{'*' * (len(run) - 5)}{run[-2:]}"


def mask_text(text: str | None, principal: Principal) -> str | None:
    """Free text quoting a ledger, as the reader may see it: ID numbers masked as everywhere
    else below county level, and other long digit runs (phone numbers) too."""
    if not text or principal.sees_full_id_numbers:
        return text
    text = _ID_NUMBER.sub(lambda m: idnumber.mask(m.group().upper()), text)
    return _LONG_DIGITS.sub(_mask_digits, text)


def _cells(kind: ImportKind, row: list[str], principal: Principal) -> list[str]:
    keys = [c.key for c in COLUMNS[kind]]
    out = []
    for key, cell in zip(keys, row, strict=True):
        if key == "id_number" and cell and not principal.sees_full_id_numbers:
            cell = idnumber.mask(idnumber.normalize(cell))
        out.append(mask_text(cell, principal) or "")
    return out


def rejections_workbook(
    kind: ImportKind,
    sheet: reader.Sheet | None,
    reasons: dict[int, list[str]],
    principal: Principal,
) -> bytes:
    """The rejected rows with their cells as read, their number in the file (行号) and why
    (错误原因), the template's headers so the fixed rows import again; the ID column is
    text, the header frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    ws = book.active
    ws.title = "被拒绝的行"
    headers = ["行号", *(c.header for c in COLUMNS[kind]), "错误原因"]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "B2"
    by_row: dict[int, list[str]] = {}
    if sheet is not None:
        wanted = set(reasons)
        for number, row in zip(sheet.row_numbers, sheet.rows, strict=True):
            if number in wanted:
                by_row[number] = row
    blank = [""] * len(COLUMNS[kind])
    for number in sorted(reasons):
        cells = _cells(kind, by_row.get(number, blank), principal)
        why = mask_text("；".join(reasons[number]), principal) or ""
        ws.append([number, *(spreadsheet.neutralise(c) for c in cells), why])
    id_at = next((i for i, c in enumerate(COLUMNS[kind]) if c.key == "id_number"), None)
    for column_cells in ws.iter_cols(min_row=2):
        for cell in column_cells:
            if id_at is not None and cell.column == id_at + 2:
                cell.number_format = "@"
            if cell.column == len(headers):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, header in enumerate(headers, start=1):
        letter = ws.cell(row=1, column=i).column_letter
        ws.column_dimensions[letter].width = (
            60 if header == "错误原因" else max(8, len(header) * 2 + 2)
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def stored_skipped(rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(int(r.get("row_no", 0)), str(r.get("reason", ""))) for r in rows or []]
