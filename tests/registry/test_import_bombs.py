"""A workbook built to exhaust memory (a sheet spanning 17 billion cells in 5 KB, a zip bomb)
is refused with a reason before any cell is read: the import fails, the worker lives on."""

import io
import re
import resource
import subprocess
import sys
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook

from services.registry.imports.jobs import import_ledger
from services.registry.imports.template import HOUSEHOLD_COLUMNS, ImportKind
from shared.auth import Role
from tests.conftest import XINGYI

HEADERS = [c.header for c in HOUSEHOLD_COLUMNS]


def far_cell_workbook(keep_dimension: bool = True) -> bytes:
    """A ledger header and one cell at XFD1048576, the last cell a sheet can have."""
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    sheet.cell(row=1_048_576, column=16_384, value="x")
    out = io.BytesIO()
    book.save(out)
    if keep_dimension:
        return out.getvalue()
    # The same sheet without its <dimension>: the cell references alone must give it away.
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    stripped = io.BytesIO()
    with zipfile.ZipFile(stripped, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename.startswith("xl/worksheets/"):
                data = re.sub(rb"<dimension[^>]*/>", b"", data)
            target.writestr(entry, data)
    return stripped.getvalue()


def zip_bomb_workbook(megabytes: int = 48) -> bytes:
    """A valid workbook whose sheet is tens of megabytes of whitespace, deflated a
    thousandfold."""
    book = Workbook()
    book.active.append(HEADERS)
    out = io.BytesIO()
    book.save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename != "xl/worksheets/sheet1.xml":
                target.writestr(entry, data)
                continue
            head, tail = data.split(b"</sheetData>", 1)
            info = zipfile.ZipInfo(entry.filename, date_time=entry.date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            with target.open(info, "w", force_zip64=True) as sheet:
                sheet.write(head)
                blank = b" " * (1024 * 1024)
                for _ in range(megabytes):
                    sheet.write(blank)
                sheet.write(b"</sheetData>" + tail)
    return bomb.getvalue()


def _limit_memory() -> None:
    limit = 3 * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


READ_IN_A_CHILD = """
import sys
from services.registry.imports import reader
from services.registry.imports.template import ImportKind
try:
    reader.read(ImportKind.households, "bomb.xlsx", sys.stdin.buffer.read())
except reader.UnreadableFile as exc:
    print("refused:", exc)
else:
    print("read")
"""


def read_in_a_child(content: bytes) -> subprocess.CompletedProcess[bytes]:
    """Read the file in a separate process with a memory cap: a reader that tries to
    allocate the sheet dies there (as a worker would), not in the test run."""
    return subprocess.run(
        [sys.executable, "-c", READ_IN_A_CHILD],
        input=content,
        capture_output=True,
        timeout=120,
        preexec_fn=_limit_memory,
        check=False,
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(far_cell_workbook(), "1,048,576 rows by 16,384 columns", id="dimension"),
        pytest.param(
            far_cell_workbook(keep_dimension=False),
            "1,048,576 rows by 16,384 columns",
            id="cell-reference",
        ),
        pytest.param(zip_bomb_workbook(), "looks like a zip bomb", id="zip-bomb"),
    ],
)
async def test_a_workbook_built_to_exhaust_memory_fails_its_import_and_the_worker_lives(
    registry, job_ctx, villages, content: bytes, reason: str
) -> None:
    assert len(content) < 200_000
    child = read_in_a_child(content)
    assert child.returncode == 0, (
        f"the reader died ({child.returncode}): {child.stderr[-500:].decode(errors='replace')}"
    )
    assert child.stdout.decode().startswith("refused:"), child.stdout
    assert reason in child.stdout.decode()
    # Through the API and the worker's job function, in this process.
    client = registry.as_(Role.county_officer, XINGYI)
    upload = await client.post(
        "/v1/imports", files={"file": ("ledger.xlsx", content)}, data={"kind": "households"}
    )
    assert upload.status_code == 202, upload.text
    import_id = upload.json()["import_id"]
    assert await import_ledger(job_ctx, import_id) == "failed"
    result = (await client.get(f"/v1/imports/{import_id}")).json()
    assert result["status"] == "failed"
    assert reason in result["error"]
    # The same worker goes on to the next import.
    from tests.registry.test_imports import csv_bytes, ids
    from tests.registry.test_imports import member as ledger_row

    (number,) = ids(1)
    after = await client.post(
        "/v1/imports",
        files={"file": ("next.csv", csv_bytes([ledger_row("NEXT-1", number)]))},
        data={"kind": "households"},
    )
    assert await import_ledger(job_ctx, after.json()["import_id"]) == "done"


def test_an_ordinary_workbook_passes_the_checks() -> None:
    from services.registry.imports import reader

    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for i in range(300):
        sheet.append([f"H{i}", "522301100001", "第1组"] + ["x"] * (len(HEADERS) - 3))
    out = io.BytesIO()
    book.save(out)
    reader.check_workbook(out.getvalue())


def many_sheets_workbook(sheets: int = 20) -> bytes:
    """Sheets each under the one-sheet limit (a stray cell at Z700000: 18 million cells),
    the ledger's header on the last: a reader that loads every sheet before the one it reads
    takes gigabytes for a file of a few kilobytes."""
    book = Workbook()
    book.remove(book.active)
    for i in range(sheets):
        book.create_sheet(f"Sheet{i}").cell(row=700_000, column=26, value="x")
    book.create_sheet("台账").append(HEADERS)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def shared_string_workbook(cells: int = 60_000, length: int = 60_000) -> bytes:
    """A header and one shared string of ``length`` characters referenced by ``cells``
    cells: every cell gets its own copy when the sheet is loaded (3.6 GB)."""
    book = Workbook()
    book.active.append(HEADERS)
    out = io.BytesIO()
    book.save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    rows = b"".join(
        b'<row r="%d"><c r="A%d" t="s"><v>0</v></c></row>' % (n, n) for n in range(2, cells + 2)
    )
    strings = (
        b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main" count="%d" uniqueCount="1"><si><t>%s</t></si></sst>'
        % (cells, b"x" * length)
    )
    crafted = io.BytesIO()
    with zipfile.ZipFile(crafted, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<dimension[^>]*/>", b"", data)
                data = data.replace(b"</sheetData>", rows + b"</sheetData>")
            elif entry.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/sharedStrings" '
                    b'Target="sharedStrings.xml"/></Relationships>',
                )
            elif entry.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            target.writestr(entry.filename, data)
        target.writestr("xl/sharedStrings.xml", strings)
    return crafted.getvalue()


@pytest.mark.parametrize(
    ("content", "code"),
    [
        pytest.param(many_sheets_workbook(), "import.workbook_too_large", id="twenty-sheets"),
        pytest.param(shared_string_workbook(), "import.strings_too_large", id="shared-string"),
    ],
)
async def test_the_whole_workbook_is_bounded_before_any_sheet_is_loaded(
    registry, villages, content: bytes, code: str
) -> None:
    """Issue 19 item 2: in a child process capped at 3 GB of address space, the reader
    refuses these small files (on main it died loading them); through the API a dry run
    answers a 422 problem with the code and a Chinese message."""
    assert len(content) < 1_000_000
    child = read_in_a_child(content)
    assert child.returncode == 0, f"the reader died ({child.returncode}): {child.stderr[-500:]!r}"
    assert child.stdout.decode().startswith("refused:"), child.stdout
    client = registry.as_(Role.county_officer, XINGYI)
    response = await client.post(
        "/v1/imports?dry_run=true",
        files={"file": ("ledger.xlsx", content)},
        data={"kind": "households"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert (problem["code"], problem["errors"][0]["code"]) == (code, code)
    assert "超过上限" in problem["errors"][0]["message"]


def test_a_ledger_workbook_loads_only_the_sheet_it_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.registry.imports import reader, workbook

    book = Workbook()
    book.active.title = "封面"
    book.active.append(["兴义市脱贫户台账"])
    ledger = book.create_sheet("台账")
    ledger.append(HEADERS)
    out = io.BytesIO()
    book.save(out)
    loaded: list[int] = []
    load = workbook.load

    def spy(content: bytes, index: int) -> list[list[Any]]:
        loaded.append(index)
        return load(content, index)

    monkeypatch.setattr(workbook, "load", spy)
    reader.read(ImportKind.households, "l.xlsx", out.getvalue())
    assert loaded == [1]
