from typing import Any

from services.monitoring.cases import service as case_service
from shared import jobs


@jobs.task(timeout_s=120, max_tries=3)
async def mark_overdue_cases(ctx: dict[str, Any]) -> int:
    """Hourly: cases past their stage deadline become overdue and escalate one level up."""
    async with jobs.unit_of_work(ctx) as session:
        return await case_service.mark_overdue(session)


jobs.schedule("mark_overdue_cases", minute={17})
