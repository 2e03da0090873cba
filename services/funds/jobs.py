"""ARQ jobs of the funds service (registered with ``shared.jobs.task``)."""
