"""Ledger imports (台账导入): the upload is stored and answered at once; a worker job parses,
validates and loads it in chunks of whole households, one transaction per chunk, so progress
shows while it runs and a failure leaves earlier chunks (and all older data) intact."""

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.database import change_log, outbox
from services.registry.imports import reader, rows
from services.registry.imports import repository as import_repository
from services.registry.imports.models import ImportFile, ImportJob
from services.registry.imports.repository import ImportRepository, Outcome
from services.registry.imports.template import ImportKind
from shared import clock, idnumber
from shared.auth import Principal, Role
from shared.db import ordered_uuid
from shared.errors import NotFound, ValidationFailed
from shared.gc_pause import gc_paused
from shared.i18n import t
from shared.pagination import paginate

log = logging.getLogger("povguard.imports")

IMPORT_ROLES = (Role.county_officer, Role.province_admin, Role.township_officer)
READ_ROLES = (*IMPORT_ROLES, Role.auditor)
CHUNK_ROWS = 50_000
MAX_REJECTED_SHOWN = 1000
JOB_NAME = "registry.import_ledger"


def principal_of(job: ImportJob) -> Principal:
    return Principal(
        sub=job.created_by, role=Role(job.created_by_role), region_code=job.region_code
    )


def _kind(kind: ImportKind | None, filename: str, content: bytes) -> ImportKind:
    """The kind sent, or the one the file's headers say (a 422 when they say neither or
    both)."""
    if not content:
        raise ValidationFailed.field("file", t("the file is empty", "import.empty_file"))
    if kind is not None:
        return kind
    try:
        return reader.detect_kind(filename, content)
    except reader.UnreadableFile as exc:
        message = exc.args[0]
        raise ValidationFailed.field("kind", message, getattr(message, "code", None)) from None


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
    kind = _kind(kind, filename, content)
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


async def dry_run(
    session: AsyncSession,
    principal: Principal,
    kind: ImportKind | None,
    filename: str,
    content: bytes,
    *,
    today: date | None = None,
) -> DryRun:
    """Validate and load the file exactly as the worker would (the same chunks, rules and
    statements), inside a savepoint that is then rolled back: no household, audit entry,
    change event or import record remains."""
    principal.ensure_role(*IMPORT_ROLES)
    kind = _kind(kind, filename, content)
    try:
        with gc_paused():
            sheet = reader.read(kind, filename, content)
    except reader.UnreadableFile as exc:
        message = exc.args[0]
        raise ValidationFailed.field("file", message, getattr(message, "code", None)) from None
    today = today or clock.today()
    batches = chunks(sheet, CHUNK_ROWS)
    repeated = repeated_ids(sheet) if kind is ImportKind.households and len(batches) > 1 else set()
    total = Outcome()
    rejected: list[tuple[int, str, str]] = []
    savepoint = await session.begin_nested()
    try:
        for batch in batches:
            records, errors = await asyncio.to_thread(validate_chunk, kind, batch, today, repeated)
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
    )


async def get_import(
    session: AsyncSession, principal: Principal, import_id: UUID
) -> tuple[ImportJob, list[Any], bool]:
    principal.ensure_role(*READ_ROLES)
    repo = ImportRepository(session)
    job = await repo.get(import_id)
    if job is None or not principal.covers(job.region_code):
        raise NotFound("import not found", code="import.not_found")
    rejected = await repo.rejections(import_id, MAX_REJECTED_SHOWN + 1)
    return job, rejected[:MAX_REJECTED_SHOWN], len(rejected) > MAX_REJECTED_SHOWN


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
        hit = frame["id_number"].is_in(list(repeated))
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
