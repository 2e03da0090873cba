"""The registry's scrape-time gauges: the head of the change feed, against which monitoring's
``povguard_projection_feed_seq`` gives the feed lag in events, and the imports under way
(a stuck one shows as a heartbeat that grows old)."""

from collections.abc import Sequence
from typing import Any

from prometheus_client.core import Metric

from services.registry.changes.repository import ChangeRepository
from services.registry.imports.repository import ImportRepository
from shared import metrics


async def collect(state: Any) -> Sequence[Metric | None]:
    async with state.read_session_maker() as session:
        head = await ChangeRepository(session).head_seq()
        imports, stalest_s = await ImportRepository(session).running_heartbeat()
    return [
        metrics.gauge("povguard_imports_active", "Imports queued or running.", imports),
        metrics.gauge(
            "povguard_import_heartbeat_age_seconds",
            "Seconds since the stalest queued or running import last beat (0 when none).",
            stalest_s or 0.0,
        ),
        metrics.gauge(
            "povguard_registry_feed_head_seq",
            "Sequence number of the newest change event in the registry's feed.",
            head,
        ),
    ]
