"""ARQ jobs of the monitoring service (registered with ``shared.jobs.task``)."""

from services.monitoring.projection.jobs import follow_registry_changes, rebuild_projection

__all__ = ["follow_registry_changes", "rebuild_projection"]
