"""Following the registry's change feed into the projection."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from services.monitoring.projection import service as projection_service
from shared import jobs, observability
from shared.registry_client import RegistryClient, RegistryUnavailable

PAGE_SIZE = 1000
MAX_PAGES_PER_RUN = 200  # a run stops after this many pages; the next run goes on
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
        locked = (
            await session.execute(
                text("SELECT pg_try_advisory_xact_lock(hashtext('monitoring:feed'))")
            )
        ).scalar_one()
        if not locked:
            return None
        after = await projection_service.current_cursor(session)
        page = await client.changes(after, limit=PAGE_SIZE)
        if not page.items:
            return 0
        return await projection_service.apply_page(session, page.items, page.next_cursor)


@jobs.task(timeout_s=900, max_tries=20)
async def follow_registry_changes(ctx: dict[str, Any]) -> int:
    """Pull the change feed until it is drained; a registry outage pauses and retries."""
    client = registry_client(ctx)
    total = 0
    try:
        for _ in range(MAX_PAGES_PER_RUN):
            applied = await _follow_one_page(ctx, client)
            if not applied:
                break
            total += applied
    except RegistryUnavailable:
        raise jobs.retry_later(ctx.get("job_try", 1)) from None
    if total and ctx.get("redis") is not None:
        await ctx["redis"].enqueue_job(
            "incremental_scan",
            _job_id=incremental_scan_job_id(datetime.now(UTC)),
            **observability.tag_job_kwargs({}),
        )
    return total


def incremental_scan_job_id(now: datetime) -> str:
    """Registry changes are followed by an incremental scan at once, so a change becomes an
    alert within a minute; at most one per follow period (the fixed job id coalesces the
    requests of followers on several workers)."""
    return f"monitoring:incremental-after-feed:{int(now.timestamp()) // FOLLOW_EVERY_S}"


@jobs.task(timeout_s=3600, max_tries=3)
async def rebuild_projection(ctx: dict[str, Any]) -> int:
    """Forget the projection and replay the whole feed from cursor 0."""
    async with jobs.unit_of_work(ctx) as session:
        # Wait for a follower mid-page rather than truncate under it.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('monitoring:feed'))"))
        await projection_service.reset(session)
    client = registry_client(ctx)
    total = 0
    report = ctx.get("on_progress")  # the CLI's progress bar (events applied per page)
    try:
        while True:
            applied = await _follow_one_page(ctx, client)
            if not applied:
                break
            total += applied
            if report is not None:
                report(applied)
    except RegistryUnavailable:
        raise jobs.retry_later(ctx.get("job_try", 1)) from None
    return total


# Every half minute: a change reaches the projection within 30 s and its scan right after.
jobs.schedule("follow_registry_changes", second=set(range(0, 60, FOLLOW_EVERY_S)))
