"""ARQ jobs of the registry service: each capability's ``jobs.py``, imported here so the worker
registers them (``shared.jobs.task``)."""

from services.registry import webhooks as _webhooks_hub  # noqa: F401  (registers the hub)
from services.registry.auth import jobs as auth_jobs
from services.registry.dci import jobs as dci_jobs
from services.registry.duplicates import jobs as duplicate_jobs
from services.registry.imports import jobs as import_jobs
from shared.webhooks import jobs as _webhook_jobs  # noqa: F401  (registers the jobs)

__all__ = ["auth_jobs", "dci_jobs", "duplicate_jobs", "import_jobs"]
