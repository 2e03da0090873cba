"""``GET /v1/stats/households``: a region's households counted as the registry held them at a
moment (the monitoring overview's household parts with ``as_of``)."""

from fastapi import APIRouter, Response

from services.registry.asof import service as asof_service
from services.registry.asof.schemas import AsOf
from shared import regions
from shared.auth import ScopedRegionPrefix
from shared.contracts.registry import HouseholdStats, RegionHouseholds
from shared.db import utcnow
from shared.errors import NotFound, ValidationFailed, problem_responses
from shared.replica.web import ReplicaReadSessionDep

router = APIRouter(tags=["stats"])


@router.get(
    "/stats/households",
    response_model=HouseholdStats,
    responses=problem_responses(NotFound, ValidationFailed),
    summary="Households by category and per child region, as of a moment",
)
async def get_household_stats(
    session: ReplicaReadSessionDep,
    prefix: ScopedRegionPrefix,
    response: Response,
    as_of: AsOf = None,
) -> HouseholdStats:
    """户数统计：某区域（默认本人区域）各户类型户数及各下级区域户数、监测户数，按 `as_of` 时刻（缺省为现在）
    从变更日志统计。A region's households by category and per child region as the registry
    held them at `as_of` (now when not given), counted from the change log; the monitoring
    overview's household parts with `as_of`. Who: any signed-in user, inside their own region
    (outside it: 404). Answers 200 `HouseholdStats` with `Povguard-As-Of-Position` and
    `Povguard-As-Of-Seq` (the newest entry counted, also `position` and `seq`; absent when none)."""
    moment = as_of or utcnow()
    stats, entry = await asof_service.household_stats(
        session,
        region_prefix=prefix,
        moment=moment,
        child_len=regions.child_prefix_length(prefix),
    )
    if entry is not None:
        response.headers.update(entry.headers())
    children = [RegionHouseholds(**c) for c in stats.pop("children")]
    return HouseholdStats(
        region_code=prefix.ljust(12, "0"),
        as_of=moment,
        children=children,
        position=entry.position if entry else None,
        seq=entry.seq if entry else None,
        **stats,
    )
