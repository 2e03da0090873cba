"""Monitoring's scrape-time gauges: open alerts and overdue cases per county, and how far
the projection follows the registry's change feed. Each is one cheap indexed query."""

from collections.abc import Sequence
from typing import Any

from prometheus_client.core import Metric

from services.monitoring.alerts.repository import AlertRepository, ScanRepository
from services.monitoring.cases.repository import CaseRepository
from services.monitoring.projection.repository import ProjectionRepository
from services.monitoring.projection.service import FEED
from shared import metrics
from shared.errors import ValidationFailed
from shared.pagination import decode_cursor


def _feed_seq(cursor: str) -> int | None:
    """The sequence number of the last event the projection applied (the cursor's second
    value; the START cursor has none)."""
    try:
        values = decode_cursor(cursor)
    except ValidationFailed:
        return None
    return int(values[1]) if len(values) > 1 and isinstance(values[1], int) else None


async def collect(state: Any) -> Sequence[Metric | None]:
    async with state.read_session_maker() as session:
        open_alerts = await AlertRepository(session).open_by_county()
        overdue = await CaseRepository(session).overdue_by_county()
        feed = await ProjectionRepository(session).feed_state(FEED)
        scans, stalest_s = await ScanRepository(session).running_heartbeat()
    families: list[Metric | None] = [
        metrics.gauge_by(
            "povguard_monitoring_open_alerts", "Open alerts per county.", "county", open_alerts
        ),
        metrics.gauge_by(
            "povguard_monitoring_overdue_cases",
            "Open cases past their deadline per county.",
            "county",
            overdue,
        ),
        metrics.gauge("povguard_scan_counties_active", "County scans queued or running.", scans),
        metrics.gauge(
            "povguard_scan_heartbeat_age_seconds",
            "Seconds since the stalest queued or running county scan last beat (0 when none).",
            stalest_s or 0.0,
        ),
    ]
    if feed is not None:
        cursor, applied, age_s = feed
        families += [
            metrics.gauge(
                "povguard_projection_seconds_since_applied",
                "Seconds since the projection last applied a page of the registry's feed "
                "(see povguard_job_last_success_timestamp_seconds for the last follow).",
                age_s,
            ),
            metrics.gauge(
                "povguard_projection_events_applied",
                "Feed events applied since the projection was last rebuilt.",
                applied,
            ),
            metrics.gauge(
                "povguard_projection_feed_seq",
                "Sequence number of the last feed event applied; the feed lag in events is "
                "povguard_registry_feed_head_seq minus this.",
                _feed_seq(cursor),
            ),
        ]
    return families
