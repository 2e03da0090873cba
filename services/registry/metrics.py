"""The registry's scrape-time gauge: the head of the change feed, against which monitoring's
``povguard_projection_feed_seq`` gives the feed lag (in positions, about events)."""

from collections.abc import Sequence
from typing import Any

from prometheus_client.core import Metric

from services.registry.changes.repository import ChangeRepository
from shared import metrics


async def collect(state: Any) -> Sequence[Metric | None]:
    async with state.read_session_maker() as session:
        head = await ChangeRepository(session).head_position()
    return [
        metrics.gauge(
            "povguard_registry_feed_head_seq",
            "Position (commit order) of the newest change event in the registry's feed.",
            head,
        )
    ]
