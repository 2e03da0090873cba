"""Ledger imports (台账导入): the upload is stored and answered at once; a worker job parses,
validates and loads it in chunks of whole households, one transaction per chunk, so progress
shows while it runs and a failure leaves earlier chunks (and all older data) intact."""

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.database import change_log, outbox
from services.registry.imports import messages as import_messages
from services.registry.imports import reader, report, rows
from services.registry.imports import repository as import_repository
from services.registry.imports.models import ImportFile, ImportJob, ImportRejection
from services.registry.imports.repository import ImportRepository, Outcome
from services.registry.imports.rules import EXCEL_NUMBER
from services.registry.imports.template import ImportKind
from shared import clock, idnumber
from shared.auth import Principal, Role
from shared.db import ordered_uuid
from shared.errors import NotFound, ValidationFailed
from shared.gc_pause import gc_paused
from shared.i18n import t
from shared.pagination import paginate

log = logging.getLogger("povguard.imports")

# A village cadre imports the village's own ledger; rows outside the caller's region are
# rejected row by row (region.outside_scope).
IMPORT_ROLES = (
    Role.county_officer,
    Role.province_admin,
    Role.township_officer,
    Role.village_cadre,
)
READ_ROLES = (*IMPORT_ROLES, Role.auditor)
CHUNK_ROWS = 50_000
MAX_REJECTED_SHOWN = 1000
JOB_NAME = "registry.import_ledger"


def principal_of(job: ImportJob) -> Principal:
    return Principal(
        sub=job.created_by, role=Role(job.created_by_role), region_code=job.region_code
    )


def _refused(exc: reader.UnreadableFile, name: str = "file") -> ValidationFailed:
    """A file the reader refuses, as a 422 problem with the reason's code."""
    message = exc.args[0]
    return ValidationFailed.field(name, message, getattr(message, "code", None))


async def _kind(kind: ImportKind | None, filename: str, content: bytes) -> ImportKind:
    """The kind sent, or the one the file's headers say (a 422 when they say neither or
    both). The headers are read off the event loop: a workbook is measured first."""
    if not content:
        raise ValidationFailed.field("file", t("the file is empty", "import.empty_file"))
    if kind is not None:
        return kind
    try:
        return await asyncio.to_thread(reader.detect_kind, filename, content)
    except reader.UnreadableFile as exc:
        raise _refused(exc, "kind") from None


def read_sheet(kind: ImportKind, filename: str, content: bytes) -> reader.Sheet:
    with gc_paused():
        return reader.read(kind, filename, content)


async def read_file(kind: ImportKind, filename: str, content: bytes) -> reader.Sheet:
    """The ledger read in a thread (never on the event loop), with the reader's bounds; a
    refusal is a 422 problem."""
    try:
        return await asyncio.to_thread(read_sheet, kind, filename, content)
    except reader.UnreadableFile as exc:
        raise _refused(exc) from None


def skipped_rows(sheet: reader.Sheet) -> list[dict[str, Any]]:
    """The rows set aside, as stored on the import."""
    return [
        {"row_no": row_no, "reason": import_messages.encode(reason)}
        for row_no, reason in sheet.skipped
    ]


def excel_rows(errors: Sequence[Any]) -> int:
    """Rows whose ID number Excel stored as a number."""
    return sum(
        1 for _, errs in errors if any(getattr(r, "code", None) == EXCEL_NUMBER for _, r in errs)
    )


async def create_import(
    session: AsyncSession,
    principal: Principal,
    kind: ImportKind | None,
    filename: str,
    content: bytes,
    *,
    enqueue: bool = True,
) -> ImportJob:
    """Store the file and queue the job (sent after commit)."""
    principal.ensure_role(*IMPORT_ROLES)
    kind = await _kind(kind, filename, content)
    job = ImportJob(
        id=ordered_uuid(),
        region_code=principal.region_code,
        kind=kind.value,
        filename=filename[:300] or "upload",
        file_format=reader.file_format(filename, content),
        sha256=hashlib.sha256(content).hexdigest(),
        status="queued",
        options={},
        created_by=principal.sub,
        created_by_role=principal.role.value,
    )
    session.add(job)
    await session.flush()
    session.add(ImportFile(import_id=job.id, region_code=job.region_code, content=content))
    await change_log.record(
        session,
        principal,
        action="create",
        entity="import",
        entity_id=job.id,
        region_code=job.region_code,
        new={"kind": job.kind, "filename": job.filename, "sha256": job.sha256},
    )
    await session.flush()
    if enqueue:
        outbox.defer(session, JOB_NAME, str(job.id), job_id=f"import:{job.id}")
    return job


@dataclass
class DryRun:
    """What a real import of the file would do; nothing of it is kept."""

    kind: ImportKind
    outcome: Outcome
    rejected_rows: list[Any]  # (row_no, column, reason as stored), in row order
    truncated: bool
    skipped: int = 0
    skipped_rows: list[dict[str, Any]] = field(default_factory=list)
    excel_rows: int = 0


async def dry_run(
    session: AsyncSession,
    principal: Principal,
    kind: ImportKind | None,
    filename: str,
    content: bytes,
    *,
    today: date | None = None,
) -> DryRun:
    """Validate and load the file exactly as the worker would (the same reader and bounds,
    off the event loop; the same chunks, rules and statements), inside a savepoint that is
    then rolled back: no household, change-log entry or import record remains."""
    principal.ensure_role(*IMPORT_ROLES)
    kind = await _kind(kind, filename, content)
    sheet = await read_file(kind, filename, content)
    kind = sheet.kind or kind
    today = today or clock.today()
    batches = chunks(sheet, CHUNK_ROWS)
    repeated = repeated_ids(sheet) if kind is ImportKind.households and len(batches) > 1 else set()
    total = Outcome()
    rejected: list[tuple[int, str, str]] = []
    excel = 0
    savepoint = await session.begin_nested()
    try:
        for batch in batches:
            records, errors = await asyncio.to_thread(validate_chunk, kind, batch, today, repeated)
            excel += excel_rows(errors)
            total.add(await load(session, principal, kind, records, errors))
            if len(rejected) <= MAX_REJECTED_SHOWN:
                rejected.extend(await ImportRepository(session).staged_rejections())
    finally:
        await savepoint.rollback()
    return DryRun(
        kind=kind,
        outcome=total,
        rejected_rows=rejected[:MAX_REJECTED_SHOWN],
        truncated=len(rejected) > MAX_REJECTED_SHOWN,
        skipped=sheet.skipped_count,
        skipped_rows=skipped_rows(sheet),
        excel_rows=excel,
    )


@dataclass
class ImportView:
    job: ImportJob
    rejected: list[Any]
    truncated: bool
    excel_rows: int


async def _visible(session: AsyncSession, principal: Principal, import_id: UUID) -> ImportJob:
    principal.ensure_role(*READ_ROLES)
    job = await ImportRepository(session).get(import_id)
    if job is None or not principal.covers(job.region_code):
        raise NotFound("import not found", code="import.not_found")
    return job


async def get_import(session: AsyncSession, principal: Principal, import_id: UUID) -> ImportView:
    job = await _visible(session, principal, import_id)
    repo = ImportRepository(session)
    rejected = await repo.rejections(import_id, MAX_REJECTED_SHOWN + 1)
    return ImportView(
        job=job,
        rejected=rejected[:MAX_REJECTED_SHOWN],
        truncated=len(rejected) > MAX_REJECTED_SHOWN,
        excel_rows=await repo.count_code(import_id, EXCEL_NUMBER),
    )


async def list_rejections(
    session: AsyncSession, principal: Principal, import_id: UUID, cursor: str | None, limit: int
) -> tuple[list[ImportRejection], str | None]:
    """An import's rejected rows a page at a time, in row order."""
    await _visible(session, principal, import_id)
    stmt = ImportRepository(session).rejections_query(import_id)
    return await paginate(
        session, stmt, [ImportRejection.row_no, ImportRejection.column], cursor, limit
    )


async def rejection_report(
    session: AsyncSession, principal: Principal, import_id: UUID, locale: str
) -> tuple[ImportJob, bytes]:
    """The rejected rows as a workbook the officials fix and import again: each row's cells
    as read, its number in the file and a 错误原因 column, masked for the reader."""
    job = await _visible(session, principal, import_id)
    repo = ImportRepository(session)
    rejections = await repo.all_rejections(import_id)
    content = await repo.content(import_id) if rejections else None
    reasons: dict[int, list[str]] = {}
    for r in rejections:
        shown = import_messages.show(r.reason, locale) or ""
        reasons.setdefault(r.row_no, []).append(f"{r.column}：{shown}")
    kind = ImportKind(job.kind)

    def build() -> bytes:
        sheet = read_sheet(kind, job.filename, content) if content else None
        return report.rejections_workbook(kind, sheet, reasons, principal)

    try:
        return job, await asyncio.to_thread(build)
    except reader.UnreadableFile as exc:
        raise _refused(exc) from None


async def list_imports(
    session: AsyncSession, principal: Principal, prefix: str, cursor: str | None, limit: int
) -> tuple[list[ImportJob], str | None]:
    """Imports in the region, newest first, so stuck or failed work is seen."""
    principal.ensure_role(*READ_ROLES)
    stmt = ImportRepository(session).list_query(prefix)
    return await paginate(
        session, stmt, [ImportJob.created_at, ImportJob.id], cursor, limit, descending=True
    )


def validate(kind: ImportKind, sheet: reader.Sheet, today: date) -> tuple[Any, list[Any]]:
    """Field validation of every row: the staging rows (a frame of columns for a households
    file, records for an economics file) and (row, errors) pairs."""
    if kind is ImportKind.households:
        frame, errors = rows.household_columns(sheet.row_numbers, sheet.columns, today)
        return rows.StagedFrame(frame), errors
    records, errors = [], []
    for row_no, cells in zip(sheet.row_numbers, sheet.rows, strict=True):
        record, errs = rows.economics_row(row_no, cells, today)
        records.append(record)
        if errs:
            errors.append((row_no, errs))
    return records, errors


def chunks(sheet: reader.Sheet, size: int) -> list[reader.Sheet]:
    """Batches of at most ``size`` rows that never split a household (rows with the same
    first cell, 户编号, stay together; a row without one is alone)."""
    if sheet.columns.height <= size:
        return [sheet]
    first = pl.col(sheet.columns.columns[0])
    household = (
        pl.when(first == "")
        .then(pl.concat_str(pl.lit("\0"), pl.int_range(pl.len()).cast(pl.String)))
        .otherwise(first)
    )
    # Households in the order they first appear, each with its size, packed greedily; a
    # batch holds its households one after the other, each's rows in file order.
    groups = sheet.columns.select(household.alias("key")).with_row_index("index")
    sizes = groups.group_by("key", maintain_order=True).len().with_row_index("group")
    batch_of, batch, filled = [], 0, 0
    for count in sizes["len"].to_list():
        if filled and filled + count > size:
            batch, filled = batch + 1, 0
        batch_of.append(batch)
        filled += count
    keyed = groups.join(
        sizes.select("key", "group", pl.Series("batch", batch_of, dtype=pl.Int64)),
        on="key",
        how="left",
    ).sort("batch", "group", "index")
    numbers = sheet.row_numbers
    out = []
    for part in keyed.partition_by("batch", maintain_order=True):
        indexes = part["index"].to_list()
        out.append(
            reader.Sheet(
                columns=sheet.columns[indexes],
                row_numbers=[numbers[i] for i in indexes],
                kind=sheet.kind,
            )
        )
    return out


def repeated_ids(sheet: reader.Sheet) -> set[str]:
    """ID numbers that occur more than once anywhere in the file (chunks are checked in SQL
    one at a time, so a repeat across two chunks is found here)."""
    cells = sheet.columns.get_column("id_number")
    cells = cells.filter(cells != "")
    # An ASCII number's normal form is its upper case (the cells are trimmed); the others
    # (full-width digits) go through idnumber.normalize.
    ascii = cells.str.contains(r"^[\x00-\x7F]*$")
    others = [idnumber.normalize(n) for n in cells.filter(~ascii).to_list()]
    normal = pl.concat(
        [cells.filter(ascii).str.to_uppercase(), pl.Series(cells.name, others, dtype=pl.String)]
    )
    counts = normal.value_counts(name="count")
    return set(counts.filter(pl.col("count") > 1).get_column(normal.name).to_list())


def validate_chunk(
    kind: ImportKind, sheet: reader.Sheet, today: date, repeated: set[str]
) -> tuple[Any, list[Any]]:
    """A chunk's staging rows and errors, made in a thread while the other lane's statements
    run (so is a households chunk's binary COPY data)."""
    with gc_paused():
        staged, errors = validate(kind, sheet, today)
    if not isinstance(staged, rows.StagedFrame):
        return staged, errors
    if repeated:
        frame = staged.frame
        # A row whose ID number the field rules refused has that reason, never a repeat.
        refused = [n for n, errs in errors if any(col == "证件号码" for col, _ in errs)]
        hit = frame["id_number"].is_in(list(repeated)) & ~frame["row_no"].is_in(refused)
        by_row = dict(errors)
        for row_no in frame.filter(hit)["row_no"].to_list():
            by_row.setdefault(row_no, []).append(
                (
                    "证件号码",
                    t(
                        "the ID number appears more than once in the file",
                        "id_number.repeated_in_file",
                    ),
                )
            )
        staged = rows.StagedFrame(frame.with_columns(bad=frame["bad"] | hit))
        errors = sorted(by_row.items())
    staged.copy_data()
    return staged, errors


async def load(
    session: AsyncSession,
    principal: Principal,
    kind: ImportKind,
    staged: Any,
    errors: Sequence[Any],
) -> Outcome:
    if kind is ImportKind.households:
        return await import_repository.load_households(session, principal, staged, errors)
    return await import_repository.load_economics(session, principal, staged, errors)
