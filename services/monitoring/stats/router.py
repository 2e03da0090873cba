from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.deps import CallerToken, Registry
from services.monitoring.stats.repository import StatsRepository
from services.monitoring.stats.schemas import ChildStats, Overview
from shared import regions
from shared.auth import ScopedRegionPrefix
from shared.errors import NotFound, ValidationFailed, problem_responses
from shared.params import AsOfMoment, YearQuery, check_as_of
from shared.registry_client import RegistryClient
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["stats"])

# The entry of monitoring's change log an as-of overview stands on (the registry's own headers
# name the registry's entry).
MONITORING_POSITION, MONITORING_SEQ = (
    "Povguard-As-Of-Monitoring-Position",
    "Povguard-As-Of-Monitoring-Seq",
)

AsOf = Annotated[
    AsOfMoment,
    Query(
        description="按某一时刻查看：RFC 3339 时间（须带时区，如 `2026-06-30T18:00:00+08:00`）。"
        "The overview as it stood at that moment: the household counts from the registry's "
        "change log (`GET /v1/stats/households`), alerts and cases from monitoring's change "
        "log (each one's last state committed by then; overdue as it was marked then). A "
        "moment later than now is a 422 (`as_of.future`). `Povguard-As-Of-Position` and "
        "`Povguard-As-Of-Seq` name the newest registry entry counted, "
        "`Povguard-As-Of-Monitoring-Position` and `-Seq` monitoring's.",
    ),
]


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
    registry: Registry,
    token: CallerToken,
    response: Response,
    year: YearQuery = None,
    as_of: AsOf = None,
) -> Overview:
    """The dashboard (监测统计): households by category (脱贫户, 监测户, 一般农户), open alerts by rule, cases by
    stage and overdue, monitored households by risk type, and the same per child region. Who:
    any signed-in user, inside their own region (outside it: 404). Answers 200 `Overview`.
    With `as_of` (按时刻回看): what the overview answered at that moment, from the registry's and
    monitoring's change logs."""
    code = prefix.ljust(12, "0")
    child_len = regions.child_prefix_length(prefix)
    if as_of is not None:
        return await _overview_as_of(
            session, registry, token, response, prefix, year, child_len, check_as_of(as_of)
        )
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


async def _overview_as_of(
    session: AsyncSession,
    registry: RegistryClient,
    token: str | None,
    response: Response,
    prefix: str,
    year: int | None,
    child_len: int | None,
    moment: datetime,
) -> Overview:
    """The household parts from the registry as of ``moment``, alerts and cases from
    monitoring's change log, per child region joined by code."""
    code = prefix.ljust(12, "0")
    households = await registry.household_stats(code, moment, token=token)
    data = await StatsRepository(session).overview_as_of(prefix, year, child_len, moment)
    if households.position is not None and households.seq is not None:
        response.headers["Povguard-As-Of-Position"] = str(households.position)
        response.headers["Povguard-As-Of-Seq"] = str(households.seq)
    newest = data.pop("newest")
    if newest is not None:
        response.headers[MONITORING_POSITION] = str(newest.position)
        response.headers[MONITORING_SEQ] = str(newest.seq)
    cases = data.pop("children")
    homes = {c.region_code[: child_len or 12]: c for c in households.children}
    children = []
    for child in sorted(set(homes) | set(cases)):
        home, case = homes.get(child), cases.get(child, {})
        children.append(
            ChildStats(
                region_code=child.ljust(12, "0"),
                households=home.households if home else 0,
                monitored_households=home.monitored_households if home else 0,
                open_alerts=case.get("open_alerts", 0),
                open_cases=case.get("open_cases", 0),
                overdue_cases=case.get("overdue_cases", 0),
            )
        )
    if child_len is None:
        children = []
    return Overview(
        region_code=code,
        year=year,
        households_by_category=households.households_by_category,
        children=children,
        **data,
    )
