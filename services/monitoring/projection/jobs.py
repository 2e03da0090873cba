"""Following the registry's change feed into the projection."""

import time
from datetime import UTC, datetime
from typing import Any

from services.monitoring.database import outbox
from services.monitoring.projection import service as projection_service
from shared import jobs
from shared.registry_client import RegistryClient, RegistryUnavailable

PAGE_SIZE = projection_service.PAGE_SIZE
MAX_PAGES_PER_RUN = 200  # a run stops after this many pages (or RUN_BUDGET_S); the next goes on
RUN_BUDGET_S = 90.0
FOLLOW_EVERY_S = 30


def registry_client(ctx: dict[str, Any]) -> RegistryClient:
    client = ctx.get("registry_client")
    if client is None:
        client = ctx["registry_client"] = RegistryClient(ctx["http"], ctx["settings"])
    return client


async def _follow_one_page(ctx: dict[str, Any], client: RegistryClient) -> int | None:
    """One page in one transaction: the rows and the cursor after them commit together.
    None when another worker holds the feed."""
    async with jobs.unit_of_work(ctx) as session:
        return await projection_service.follow_page(session, client)


async def _follow(ctx: dict[str, Any]) -> tuple[int, bool]:
    """Pages until the feed is drained or this run's budget is spent: (applied, drained)."""
    client = registry_client(ctx)
    total, started = 0, time.monotonic()
    report = ctx.get("on_progress")  # the CLI's progress bar (events applied per page)
    try:
        for _ in range(MAX_PAGES_PER_RUN):
            applied = await _follow_one_page(ctx, client)
            if not applied:
                return total, True
            total += applied
            if report is not None:
                report(applied)
            if time.monotonic() - started > RUN_BUDGET_S:
                break
    except RegistryUnavailable:
        raise jobs.retry_later(ctx.get("job_try", 1)) from None
    return total, False


async def _enqueue(ctx: dict[str, Any], name: str, job_id: str) -> None:
    """Through the outbox, as every job: written in a transaction and sent once it commits
    (by the relay, should Redis be away at that moment). The CLI has no queue and drains the
    feed itself: it hands nothing on."""
    if ctx.get("redis") is None:
        return
    async with jobs.unit_of_work(ctx) as session:
        outbox.defer(session, name, job_id=job_id)


@jobs.task(timeout_s=150, max_tries=20, routine=True)
async def follow_registry_changes(ctx: dict[str, Any]) -> int:
    """Pull the change feed until it is drained; a registry outage pauses and retries. A run
    that is not drained within its budget hands on to the next run at once."""
    total, drained = await _follow(ctx)
    now = datetime.now(UTC)
    if not drained:
        await _enqueue(ctx, "follow_registry_changes", f"monitoring:follow-on:{now.timestamp()}")
    if total:
        await _enqueue(ctx, "incremental_scan", incremental_scan_job_id(now))
    return total


def incremental_scan_job_id(now: datetime) -> str:
    """Registry changes are followed by an incremental scan at once, so a change becomes an
    alert within a minute; at most one per follow period (the fixed job id coalesces the
    requests of followers on several workers)."""
    return f"monitoring:incremental-after-feed:{int(now.timestamp()) // FOLLOW_EVERY_S}"


@jobs.task(timeout_s=150, max_tries=3)
async def rebuild_projection(ctx: dict[str, Any]) -> int:
    """Forget the projection and replay the whole feed from cursor 0 (the follow jobs go on
    where this run's budget ends)."""
    async with jobs.unit_of_work(ctx) as session:
        await projection_service.reset(session)
    total, drained = await _follow(ctx)
    if not drained:
        now = datetime.now(UTC)
        await _enqueue(ctx, "follow_registry_changes", f"monitoring:follow-on:{now.timestamp()}")
    return total


# Every half minute: a change reaches the projection within 30 s and its scan right after.
jobs.schedule("follow_registry_changes", second=set(range(0, 60, FOLLOW_EVERY_S)))
