from fastapi import APIRouter

from services.monitoring.stats.repository import StatsRepository
from services.monitoring.stats.schemas import ChildStats, Overview
from shared import regions
from shared.auth import ScopedRegionPrefix
from shared.errors import NotFound, ValidationFailed, problem_responses
from shared.params import YearQuery
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["stats"])

_LEVELS = list(regions.PREFIX_LENGTH)


@router.get(
    "/stats/overview",
    response_model=Overview,
    responses=problem_responses(NotFound, ValidationFailed),
    summary="Households by category, open alerts by rule, cases by stage and overdue, "
    "monitored households by risk type, and the same per child region",
)
async def get_stats_overview(
    session: ReplicaSessionDep,
    prefix: ScopedRegionPrefix,
    year: YearQuery = None,
) -> Overview:
    """The dashboard (监测统计): households by category (脱贫户, 监测户, 一般农户), open alerts by rule, cases by
    stage and overdue, monitored households by risk type, and the same per child region. Who:
    any signed-in user, inside their own region (outside it: 404). Answers 200 `Overview`."""
    code = prefix.ljust(12, "0")
    level = regions.level_of(code)
    index = _LEVELS.index(level)
    child_len = regions.PREFIX_LENGTH[_LEVELS[index + 1]] if index + 1 < len(_LEVELS) else None
    data = await StatsRepository(session).overview(prefix, year, child_len)
    children = [
        ChildStats(
            region_code=row["child"].ljust(12, "0"),
            households=row["households"],
            monitored_households=row["monitored"],
            open_alerts=row["open_alerts"],
            open_cases=row["open_cases"],
            overdue_cases=row["overdue_cases"],
        )
        for row in data.pop("children")
    ]
    return Overview(region_code=code, year=year, children=children, **data)
