"""Ledger imports (台账导入): the upload is stored and answered at once; a worker job parses,
validates and loads it in chunks of whole households, one transaction per chunk, so progress
shows while it runs and a failure leaves earlier chunks (and all older data) intact."""

import hashlib
from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.database import audit
from services.registry.imports import pipeline, reader, rows
from services.registry.imports.models import ImportFile, ImportJob
from services.registry.imports.pipeline import Outcome
from services.registry.imports.repository import ImportRepository
from services.registry.imports.template import ImportKind
from shared import jobs
from shared.auth import Principal, Role
from shared.errors import NotFound, ValidationFailed

IMPORT_ROLES = (Role.county_officer, Role.province_admin, Role.township_officer)
READ_ROLES = (*IMPORT_ROLES, Role.auditor)
CHUNK_ROWS = 50_000
MAX_REJECTED_SHOWN = 1000
JOB_NAME = "registry.import_ledger"


def _principal(job: ImportJob) -> Principal:
    return Principal(
        sub=job.created_by, role=Role(job.created_by_role), region_code=job.region_code
    )


async def create_import(
    session: AsyncSession,
    principal: Principal,
    kind: ImportKind,
    filename: str,
    content: bytes,
    *,
    enqueue: bool = True,
) -> ImportJob:
    """Store the file and queue the job (sent after commit)."""
    principal.ensure_role(*IMPORT_ROLES)
    if not content:
        raise ValidationFailed.field("file", "the file is empty")
    job = ImportJob(
        id=uuid4(),
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
    await audit.record(
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
        jobs.defer(session, JOB_NAME, str(job.id), job_id=f"import:{job.id}")
    return job


async def get_import(
    session: AsyncSession, principal: Principal, import_id: UUID
) -> tuple[ImportJob, list[Any], bool]:
    principal.ensure_role(*READ_ROLES)
    repo = ImportRepository(session)
    job = await repo.get(import_id)
    if job is None or not principal.covers(job.region_code):
        raise NotFound("import not found")
    rejected = await repo.rejections(import_id, MAX_REJECTED_SHOWN + 1)
    return job, rejected[:MAX_REJECTED_SHOWN], len(rejected) > MAX_REJECTED_SHOWN


def validate(kind: ImportKind, sheet: reader.Sheet, today: date) -> tuple[list[Any], list[Any]]:
    """Field validation of every row: staging records and (row, errors) pairs."""
    check = rows.household_row if kind is ImportKind.households else rows.economics_row
    records, errors = [], []
    for row_no, cells in zip(sheet.row_numbers, sheet.rows, strict=True):
        record, errs = check(row_no, cells, today)
        records.append(record)
        if errs:
            errors.append((row_no, errs))
    return records, errors


def chunks(
    kind: ImportKind, records: list[tuple[Any, ...]], size: int
) -> list[list[tuple[Any, ...]]]:
    """Batches of at most ``size`` rows that never split a household."""
    if len(records) <= size:
        return [records]
    groups: dict[Any, list[tuple[Any, ...]]] = {}
    for record in records:
        groups.setdefault(record[1] or ("row", record[0]), []).append(record)
    out: list[list[tuple[Any, ...]]] = [[]]
    for group in groups.values():
        if out[-1] and len(out[-1]) + len(group) > size:
            out.append([])
        out[-1].extend(group)
    return out


def _duplicates_across_chunks(
    records: list[tuple[Any, ...]], errors: list[Any]
) -> tuple[list[tuple[Any, ...]], list[Any]]:
    """An ID number twice in a big file may fall in two chunks: mark those rows up front."""
    seen = Counter(r[9] for r in records if r[9])
    dup = {n for n, c in seen.items() if c > 1}
    if not dup:
        return records, errors
    marked = []
    for r in records:
        if r[9] in dup:
            errors.append(
                (r[0], [("证件号码", "the ID number appears more than once in the file")])
            )
            r = (*r[:-1], True)
        marked.append(r)
    return marked, errors


async def load(
    session: AsyncSession,
    principal: Principal,
    kind: ImportKind,
    records: Sequence[tuple[Any, ...]],
    errors: Sequence[Any],
) -> Outcome:
    if kind is ImportKind.households:
        return await pipeline.load_households(session, principal, records, errors)
    return await pipeline.load_economics(session, principal, records, errors)


async def run_import(
    session_maker: async_sessionmaker[AsyncSession],
    import_id: UUID,
    *,
    chunk_rows: int = CHUNK_ROWS,
    today: date | None = None,
) -> str:
    """The job's work; safe to run again (loaded rows then count as unchanged)."""
    async with session_maker() as session, session.begin():
        repo = ImportRepository(session)
        job = await repo.get(import_id)
        if job is None or job.status in ("done", "failed"):
            return job.status if job else "missing"
        content = await repo.content(import_id)
        await repo.reset(import_id)
        kind, principal, filename = ImportKind(job.kind), _principal(job), job.filename
    try:
        sheet = reader.read(kind, filename, content or b"")
    except reader.UnreadableFile as exc:
        async with session_maker() as session, session.begin():
            await ImportRepository(session).finish(import_id, "failed", str(exc)[:1000])
        return "failed"
    records, errors = validate(kind, sheet, today or date.today())
    batches = chunks(kind, records, chunk_rows)
    if kind is ImportKind.households and len(batches) > 1:
        records, errors = _duplicates_across_chunks(records, errors)
        batches = chunks(kind, records, chunk_rows)
    errors_by_row: dict[int, list[tuple[str, str]]] = {}
    for row_no, errs in errors:
        errors_by_row.setdefault(row_no, []).extend(errs)
    for batch in batches:
        batch_errors = [(r[0], errors_by_row[r[0]]) for r in batch if r[0] in errors_by_row]
        async with session_maker() as session, session.begin():
            outcome = await load(session, principal, kind, batch, batch_errors)
            repo = ImportRepository(session)
            await repo.save_staged_rejections(import_id, principal.region_code)
            await repo.add_counts(
                import_id, outcome.rows, outcome.accepted, outcome.rejected, outcome.unchanged
            )
    async with session_maker() as session, session.begin():
        await ImportRepository(session).finish(import_id, "done")
    return "done"
