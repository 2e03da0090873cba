"""The import's worker side (台账导入): the ARQ job that loads an uploaded ledger in chunks of
whole households, one transaction per chunk with a heartbeat, two lanes at a time, resumable
after a killed worker; and the sweep that dispatches a silent import again."""

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.database import outbox
from services.registry.duplicates import service as duplicate_service
from services.registry.imports import messages as import_messages
from services.registry.imports import reader
from services.registry.imports.models import ImportJob
from services.registry.imports.repository import ImportRepository
from services.registry.imports.service import (
    CHUNK_ROWS,
    JOB_NAME,
    chunks,
    load,
    principal_of,
    read_sheet,
    repeated_ids,
    skipped_rows,
    validate_chunk,
)
from services.registry.imports.template import ImportKind
from shared import clock, jobs
from shared import outbox as outbox_module
from shared.db import error_without_values, ordered_uuid, utcnow
from shared.gc_pause import gc_paused
from shared.i18n import t

log = logging.getLogger("povguard.imports")


class ImportStopped(RuntimeError):
    """An import failed for good; the message is the reason stored on it (no personal data)."""


class _ChunkLoadedElsewhere(Exception):
    """Rolls back a chunk another copy of the job committed first."""


# Why an import stopped for good, in one place each.
STUCK = "import"


async def run_import(
    session_maker: async_sessionmaker[AsyncSession],
    import_id: UUID,
    *,
    chunk_rows: int = CHUNK_ROWS,
    parallel: int = 2,
    today: date | None = None,
    final: bool = True,
    budget_s: float | None = None,
    heartbeat_s: float = 10.0,
    stale_s: float = 90.0,
    on_progress: Callable[[int], None] | None = None,
    beat_session_maker: async_sessionmaker[AsyncSession] | None = None,
) -> str:
    """The job's work, in chunks of whole households, one transaction each; safe to run again.

    A chunk that committed is recorded with its counts, so a run after a killed worker skips
    it (its rows stay counted as accepted) and loads only the rest. A run takes a lease (status
    ``running`` with a heartbeat beaten while it works); a second copy of the job finding a
    fresh lease leaves (``busy``). After ``budget_s`` a run starts no more chunks and hands the
    rest to a new job (``continued``), so no job runs for long. A transient failure is raised
    for the job to retry unless this run is ``final``; any other failure, or one on the final
    run, marks the import failed with the reason. ``on_progress`` hears the rows of each chunk
    once it has committed (the CLI's progress bar)."""
    started = time.monotonic()
    async with session_maker() as session, session.begin():
        repo = ImportRepository(session)
        job = await repo.get(import_id, for_update=True)
        if job is None or job.status in ("done", "failed"):
            return job.status if job else "missing"
        if job.status == "running" and job.heartbeat_at > utcnow() - timedelta(seconds=stale_s):
            return "busy"
        content = await repo.content(import_id)
        chunk_rows = int(job.options.get("chunk_rows") or chunk_rows)
        if "chunk_rows" not in job.options:
            job.options = {**job.options, "chunk_rows": chunk_rows}
        # Taking over from a worker that stopped counts as an attempt.
        await repo.claim(import_id, count_attempt=job.status == "running")
        kind, principal, filename = ImportKind(job.kind), principal_of(job), job.filename
        done = set(job.chunks_done or [])
    read_started = time.perf_counter()
    try:
        # In a thread, as a dry run reads: the worker's loop keeps its heartbeats going.
        sheet = await asyncio.to_thread(read_sheet, kind, filename, content or b"")
    except reader.UnreadableFile as exc:
        async with session_maker() as session, session.begin():
            await ImportRepository(session).finish(
                import_id, "failed", import_messages.encode(exc.args[0], 1000)
            )
        return "failed"
    log.info(
        "import %s: read %d rows in %.2fs",
        import_id,
        sheet.columns.height,
        time.perf_counter() - read_started,
    )
    today = today or clock.today()
    with gc_paused():
        batches = chunks(sheet, chunk_rows)
        multiple = kind is ImportKind.households and len(batches) > 1
        repeated = repeated_ids(sheet) if multiple else set()
    async with session_maker() as session, session.begin():
        repo = ImportRepository(session)
        await repo.claim(import_id, chunks_total=len(batches))
        await repo.record_skipped(import_id, sheet.skipped_count, skipped_rows(sheet))
    # Chunks hold disjoint households and ID numbers (repeats across chunks were rejected
    # above), so on a pooled engine two load at once: PostgreSQL does most of the work and
    # the machine has two cores; each validates its next chunk (Python, in a thread) while
    # the other's statements run. A session maker bound to one connection (tests) loads
    # one chunk at a time.
    lanes = parallel if outbox_module.pooled(session_maker) else 1
    queue = [k for k in range(len(batches)) if k not in done]

    def over_budget() -> bool:
        return budget_s is not None and time.monotonic() - started > budget_s

    async def lane() -> None:
        loaded = 0
        while queue and not (loaded and over_budget()):
            k = queue.pop(0)
            chunk_started = time.perf_counter()
            records, errors = await asyncio.to_thread(
                validate_chunk, kind, batches[k], today, repeated
            )
            validated = time.perf_counter()
            try:
                async with session_maker() as session, session.begin():
                    outcome = await load(session, principal, kind, records, errors)
                    repo = ImportRepository(session)
                    await _warn_of_duplicates(session, principal, import_id, records)
                    await repo.save_staged_rejections(import_id, principal.region_code)
                    if not await repo.add_counts(
                        import_id,
                        outcome.rows,
                        outcome.accepted,
                        outcome.rejected,
                        outcome.unchanged,
                        chunk=k,
                    ):
                        raise _ChunkLoadedElsewhere
            except _ChunkLoadedElsewhere:
                log.warning("import %s chunk %d: loaded by another copy of the job", import_id, k)
                continue
            loaded += 1
            log.info(
                "import %s chunk %d/%d: %d rows validated in %.2fs, loaded in %.2fs",
                import_id,
                k + 1,
                len(batches),
                outcome.rows,
                validated - chunk_started,
                time.perf_counter() - validated,
            )
            if on_progress is not None:
                on_progress(outcome.rows)

    async def beat(session: AsyncSession) -> None:
        await ImportRepository(session).beat(import_id)

    try:
        async with (
            outbox_module.heartbeat(beat_session_maker or session_maker, beat, heartbeat_s),
            asyncio.TaskGroup() as group,
        ):
            for _ in range(min(lanes, len(queue))):
                group.create_task(lane())
    except* Exception as failure:
        first = failure.exceptions[0]
        if jobs.is_transient(first) and not final:
            # The job retries; the lease goes so the retry is not taken for a second copy.
            async with session_maker() as session, session.begin():
                await ImportRepository(session).hand_over(import_id)
            raise first from None
        reason = t(
            "the import stopped: {error}", "import.stopped", error=error_without_values(first)
        )
        async with session_maker() as session, session.begin():
            await ImportRepository(session).finish(
                import_id, "failed", import_messages.encode(reason, 1000)
            )
        # ARQ logs and stores a failed job's exception: the reason, never the values it quoted.
        raise ImportStopped(reason) from None
    if queue:
        # Over budget: the rest goes to a new job, dispatched with the hand-over.
        async with session_maker() as session, session.begin():
            await ImportRepository(session).hand_over(import_id)
            outbox.defer(
                session,
                JOB_NAME,
                str(import_id),
                job_id=f"import:{import_id}:from-chunk-{len(batches) - len(queue)}",
            )
        return "continued"
    async with session_maker() as session, session.begin():
        await ImportRepository(session).finish(import_id, "done")
    return "done"


async def _warn_of_duplicates(
    session: AsyncSession, principal: Any, import_id: UUID, records: Any
) -> None:
    """The check at entry for a chunk of a household ledger: its members against the
    registry (one candidate query, one scoring), each possible duplicate kept with its row."""
    frame = getattr(records, "frame", None)
    if frame is None or "id_number" not in frame.columns:
        return
    rows = dict(zip(frame["id_number"].to_list(), frame["row_no"].to_list(), strict=True))
    found = await duplicate_service.possible_duplicates_by_number(
        session, principal, [n for n in rows if n]
    )
    warnings = [
        {
            "row": rows[number],
            "of_member_id": str(p.of_member_id),
            "member_id": str(p.member_id),
            "household_id": str(p.household_id),
            "probability": p.probability,
        }
        for number, possible in found.items()
        for p in possible
    ]
    await ImportRepository(session).add_duplicate_warnings(
        import_id, sorted(warnings, key=lambda w: w["row"])
    )


def _stuck_reason(job: ImportJob) -> str:
    return outbox_module.stuck_reason(STUCK, job.attempts, job.heartbeat_at)


async def sweep(session: AsyncSession, policy: outbox_module.SweepPolicy) -> dict[str, int]:
    """Imports without a heartbeat since ``policy.stale_before``: a queued one is dispatched
    again (the queue may have lost it); a running one (its worker died) is dispatched again
    as a new attempt, or after the last attempt marked failed with the reason."""
    repo = ImportRepository(session)
    counts = {"redispatched": 0, "failed": 0}
    for job in await repo.stale(policy.stale_before):
        running = job.status == "running"
        if running and job.attempts >= policy.max_attempts:
            await repo.finish(job.id, "failed", _stuck_reason(job)[:1000])
            counts["failed"] += 1
            continue
        await repo.hand_over(job.id, count_attempt=running)
        outbox.defer(
            session,
            JOB_NAME,
            str(job.id),
            job_id=f"import:{job.id}:swept-{ordered_uuid()}",
        )
        counts["redispatched"] += 1
    return counts


@jobs.task(name=JOB_NAME, timeout_s=180, max_tries=3)
async def import_ledger(ctx: dict[str, Any], import_id: str) -> str:
    """Load an uploaded ledger file (台账导入). A run loads chunks for at most
    ``import_budget_s`` and hands the rest to the next job, so its timeout (and ARQ's
    in-progress expiry after a killed worker) stays short."""
    settings = ctx["settings"]
    try:
        return await run_import(
            jobs.bulk_session_maker(ctx),
            UUID(import_id),
            chunk_rows=settings.import_chunk_rows,
            final=jobs.is_last_try(ctx, JOB_NAME),
            budget_s=settings.import_budget_s,
            heartbeat_s=settings.job_heartbeat_s,
            stale_s=settings.job_stale_s,
            # The heartbeat is short work: never queued behind the bulk pool's long statements.
            beat_session_maker=ctx["session_maker"],
        )
    except Exception as exc:
        jobs.retry_if_transient(ctx, JOB_NAME, exc)
        raise


@outbox_module.sweep("registry.imports")
async def sweep_imports(session: Any, policy: outbox_module.SweepPolicy) -> dict[str, int]:
    return await sweep(session, policy)
