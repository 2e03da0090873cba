"""ARQ jobs of the monitoring service (registered with ``shared.jobs.task``)."""
