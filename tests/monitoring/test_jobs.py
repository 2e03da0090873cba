"""The worker runs monitoring's jobs and schedules (cron ticks with fixed ids)."""

from workers.main import create_worker


def test_worker_registers_monitoring_jobs_and_schedules(settings) -> None:
    worker = create_worker(settings)
    for name in (
        "follow_registry_changes",
        "rebuild_projection",
        "scan_county",
        "nightly_full_scan",
        "incremental_scan",
        "mark_overdue_cases",
    ):
        assert name in worker.functions
    for name in (
        "follow_registry_changes",
        "nightly_full_scan",
        "incremental_scan",
        "mark_overdue_cases",
    ):
        assert f"cron:{name}" in worker.functions


async def test_nightly_scan_covers_each_province_with_its_latest_policy(
    feed, job_ctx, session
) -> None:
    from sqlalchemy import text

    from services.monitoring.alerts import jobs as scan_jobs
    from tests.conftest import VILLAGE_A

    await feed.household(VILLAGE_A, income={2021: "5000.00"})
    started = await scan_jobs.nightly_full_scan(job_ctx)
    assert len(started) == 1
    scan = (
        await session.execute(
            text(
                "SELECT region_code, year, mode, counties_total FROM monitoring.scans WHERE id = :i"
            ),
            {"i": started[0]},
        )
    ).one()
    assert tuple(scan) == ("520000000000", 2021, "full", 1)
    # Nothing changed since: the incremental scan finds no county to look at once the full
    # one has run.
    await scan_jobs.scan_county(job_ctx, started[0], "522301000000")
    incremental = await scan_jobs.incremental_scan(job_ctx)
    counties = (
        await session.execute(
            text("SELECT counties_total FROM monitoring.scans WHERE id = :i"), {"i": incremental[0]}
        )
    ).scalar_one()
    assert counties == 1  # the household changed within the look-back margin
