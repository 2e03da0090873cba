"""The duplicate scan's worker side: read the region's resident members (COPY into Arrow),
match them (Splink on DuckDB, in a thread, so the worker's loop keeps beating), and upsert
the pairs. Safe to run again: the pairs are keyed by their two members, and a decided pair
keeps its decision."""

import asyncio
import logging
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.duplicates import matcher
from services.registry.duplicates import service as duplicate_service
from services.registry.duplicates.repository import ScanRepository
from shared import jobs, regions
from shared.db import error_without_values, utcnow
from shared.i18n import t

log = logging.getLogger("povguard.duplicates")


async def run_scan(session_maker: async_sessionmaker[AsyncSession], scan_id: UUID) -> str:
    async with session_maker() as session, session.begin():
        repo = ScanRepository(session)
        scan = await repo.get(scan_id, for_update=True)
        if scan is None or scan.status == "done":
            return scan.status if scan else "missing"
        prefix = regions.prefix_of(scan.region_code)
        await repo.set_state(scan_id, status="running", progress=5, started_at=utcnow(), error=None)
    try:
        async with session_maker() as session, session.begin():
            members = await ScanRepository(session).read_members(prefix)
            await ScanRepository(session).set_state(scan_id, progress=20, members=members.num_rows)
        pairs = await asyncio.to_thread(matcher.find_pairs, members)
        rows = await asyncio.to_thread(duplicate_service.pair_rows, pairs)
        async with session_maker() as session, session.begin():
            repo = ScanRepository(session)
            await repo.set_state(scan_id, progress=90)
            proposed = await repo.save_pairs(scan_id, rows)
            await repo.set_state(
                scan_id, status="done", progress=100, pairs=proposed, finished_at=utcnow()
            )
    except Exception as exc:
        reason = t(
            "the duplicate scan stopped: {error}",
            "duplicate_scan.stopped",
            error=error_without_values(exc),
        )
        async with session_maker() as session, session.begin():
            await ScanRepository(session).set_state(
                scan_id, status="failed", error=reason, finished_at=utcnow()
            )
        log.warning("duplicate scan %s failed: %s", scan_id, reason)
        return "failed"
    return "done"


@jobs.task(name=duplicate_service.JOB_NAME, timeout_s=180, max_tries=2)
async def scan_duplicates(ctx: dict[str, Any], scan_id: str) -> str:
    """Scan a region for duplicates the ID check cannot see (查重)."""
    return await run_scan(jobs.bulk_session_maker(ctx), UUID(scan_id))
