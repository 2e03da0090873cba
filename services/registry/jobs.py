"""ARQ jobs of the registry service (registered with ``shared.jobs.task``)."""
