"""ARQ jobs of the monitoring service (registered with ``shared.jobs.task``)."""

from services.monitoring import webhooks as _webhooks_hub  # noqa: F401  (registers the hub)
from services.monitoring.alerts.jobs import incremental_scan, nightly_full_scan, scan_county
from services.monitoring.cases.jobs import mark_overdue_cases
from services.monitoring.projection.jobs import follow_registry_changes, rebuild_projection
from shared.webhooks import jobs as _webhook_jobs  # noqa: F401  (registers the jobs)

__all__ = [
    "follow_registry_changes",
    "incremental_scan",
    "mark_overdue_cases",
    "nightly_full_scan",
    "rebuild_projection",
    "scan_county",
]
