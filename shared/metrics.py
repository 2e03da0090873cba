"""Prometheus metrics for every Povguard process, with prometheus-client.

The APIs count requests and time them by route template and status, and show their database
pool; each service adds cheap domain gauges computed at scrape time. The worker counts jobs
by name and outcome and serves its own ``/metrics`` (``workers/metrics.py``).

Several processes behind one port (uvicorn ``--workers``, gunicorn, several workers on one
host) share their counters when ``PROMETHEUS_MULTIPROC_DIR`` names an empty directory that
exists before they start (prometheus-client's multiprocess mode); a scrape then answers for
all of them."""

import atexit
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

HTTP_REQUESTS = Counter(
    "povguard_http_requests",
    "HTTP requests answered, by route template and status.",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "povguard_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and status.",
    ["service", "method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_PROGRESS = Gauge(
    "povguard_http_requests_in_progress",
    "HTTP requests being answered now.",
    ["service"],
    multiprocess_mode="livesum",
)
DB_POOL_IN_USE = Gauge(
    "povguard_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    ["service"],
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "povguard_db_pool_size",
    "Connections the pool keeps (its overflow comes on top).",
    ["service"],
    multiprocess_mode="livesum",
)

REPLICA_READS = Counter(
    "povguard_replica_reads",
    "Reads that may go to the read replica, by the server that answered them (replica, or the "
    "primary: the replica was down, behind, or had not replayed the client's own write).",
    ["server"],
)
JOBS_STARTED = Counter("povguard_jobs_started", "Jobs started, by name.", ["job"])
JOBS_SUCCEEDED = Counter("povguard_jobs_succeeded", "Jobs that succeeded, by name.", ["job"])
JOBS_FAILED = Counter(
    "povguard_jobs_failed", "Jobs that failed for good (or timed out), by name.", ["job"]
)
JOBS_RETRIED = Counter(
    "povguard_jobs_retried",
    "Jobs that will run again (a transient failure, or handed back on shutdown), by name.",
    ["job"],
)
JOB_DURATION = Histogram(
    "povguard_job_duration_seconds",
    "How long a job ran, by name and outcome.",
    ["job", "outcome"],
    buckets=JOB_BUCKETS,
)
JOB_LAST_SUCCESS = Gauge(
    "povguard_job_last_success_timestamp_seconds",
    "When a job last succeeded (unix time); for follow_registry_changes: when the "
    "projection last followed the registry's feed.",
    ["job"],
    multiprocess_mode="max",
)
JOBS_IN_PROGRESS = Gauge(
    "povguard_jobs_in_progress", "Jobs running now.", ["job"], multiprocess_mode="livesum"
)

# A service's scrape-time gauges: given the app's state, the metric families to add.
# A family may be None (nothing to report): the scrape leaves it out.
DomainCollector = Callable[[Any], Awaitable[Sequence[Metric | None]]]


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


if multiprocess_dir():
    # A stopped process's live gauges (requests and jobs in progress, pool in use) must not
    # be summed into the next scrape; its counters stay.
    atexit.register(multiprocess.mark_process_dead, os.getpid())


class _Fixed:
    """A collector of families computed beforehand (the async domain queries)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def render(extra: Iterable[Metric] = ()) -> bytes:
    """The exposition text: this process's metrics (every process's in multiprocess mode),
    then ``extra``."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    output = generate_latest(registry)
    extra = list(extra)
    if extra:
        fixed = CollectorRegistry(auto_describe=False)
        fixed.register(_Fixed(extra))
        output += generate_latest(fixed)
    return output


def gauge_by(
    name: str, documentation: str, label: str, rows: Iterable[tuple[str, float]]
) -> Metric:
    """A gauge family with one sample per ``(label value, value)`` row."""
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in rows:
        family.add_metric([key], float(value))
    return family


def gauge(name: str, documentation: str, value: float | None) -> Metric | None:
    if value is None:
        return None
    return GaugeMetricFamily(name, documentation, value=float(value))


def watch_pool(engine: AsyncEngine, service: str) -> None:
    """Keep ``povguard_db_pool_connections_in_use`` by the pool's own checkout/checkin events
    (exact across processes, and nothing to compute at scrape time)."""
    in_use = DB_POOL_IN_USE.labels(service)
    size = getattr(engine.sync_engine.pool, "size", None)
    if callable(size):
        DB_POOL_SIZE.labels(service).set(size())

    def checked_out(*_: Any) -> None:
        in_use.inc()

    def checked_in(*_: Any) -> None:
        in_use.dec()

    event.listen(engine.sync_engine, "checkout", checked_out)
    event.listen(engine.sync_engine, "checkin", checked_in)
