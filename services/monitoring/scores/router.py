from uuid import UUID

from fastapi import APIRouter, Response

from services.monitoring.deps import IfMatch
from services.monitoring.scores import service as score_service
from services.monitoring.scores.indicators import described
from services.monitoring.scores.models import HouseholdScore
from services.monitoring.scores.schemas import (
    HouseholdScoreRead,
    ScorecardRead,
    ScorecardWrite,
    ScoreListItem,
)
from shared import http
from shared.auth import CurrentPrincipal, ScopedRegionPrefix
from shared.db import SessionDep
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    problem_responses,
)
from shared.pagination import Cursor, Limit, Page, paginate
from shared.params import RegionQuery, YearPath

router = APIRouter(tags=["scores"])


@router.get(
    "/scorecards/{year}",
    response_model=ScorecardRead,
    responses=problem_responses(NotFound, ValidationFailed),
    summary="风险评分卡：the scorecard in force for a region and year (the county's own, else the "
    "province's, else the default)",
)
async def get_scorecard(
    year: YearPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
    region: RegionQuery = None,
) -> ScorecardRead:
    """风险评分卡 (risk scorecard): the indicators a scan scores every household with, each with its
    weight and bins (points per range of values). A county's own wins over the province's;
    where neither is set, the default (version 0) applies. Who: any signed-in user. Answers
    200 `ScorecardRead`."""
    card = await score_service.get_in_force(session, principal, year, region)
    # Its version names what this URL answers only for the region's own scorecard: the
    # default (0) or a province's read by a county may give way to one numbered alike.
    if card.version == 0 or card.region_code != (region or principal.region_code):
        http.untagged(response)
    return card


@router.put(
    "/scorecards/{year}",
    response_model=ScorecardRead,
    responses={
        201: {"model": ScorecardRead, "description": "A new scorecard in force"},
        202: {
            "model": ScorecardRead,
            "description": "A county officer's scorecard, stored `pending` until a province "
            "admin approves it",
        },
        **problem_responses(Forbidden, NotFound, PreconditionFailed, ValidationFailed),
    },
    summary="设置风险评分卡：set a province's scorecard for a year (province admin) or a county's",
    description="Refused (422, one entry per field) unless the weights add up to 1 within "
    "0.01, each indicator's bins cover its range in order without gaps or overlaps, and every "
    f"indicator is one the projection holds: {described()}. A county officer's scorecard "
    "waits for a province admin (202). One in force is never edited: the new one supersedes "
    "it (`effective_until`), and stored scores name the version they were given under.",
)
async def set_scorecard(
    year: YearPath,
    body: ScorecardWrite,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
    region: RegionQuery = None,
    if_match: IfMatch = None,
) -> ScorecardRead:
    card, created = await score_service.put_scorecard(
        session, principal, year, region, body, if_match=if_match
    )
    http.settled(
        response,
        pending=card.status == "pending",
        created=created,
        path=f"/v1/scorecards/{year}?region={card.region_code}",
    )
    return ScorecardRead.model_validate(card)


@router.post(
    "/scorecards/{scorecard_id}/approve",
    response_model=ScorecardRead,
    responses=problem_responses(Conflict, Forbidden, NotFound),
    summary="Approve a county's pending scorecard (province admin; never its requester)",
)
async def approve_scorecard(
    scorecard_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> ScorecardRead:
    """Approves a county's pending scorecard; it comes into force. Who: province admin, never
    the one who requested it. Answers 200; 409 when it is not pending."""
    card = await score_service.decide(session, principal, scorecard_id, approve=True)
    return ScorecardRead.model_validate(card)


@router.post(
    "/scorecards/{scorecard_id}/refuse",
    response_model=ScorecardRead,
    responses=problem_responses(Conflict, Forbidden, NotFound),
    summary="Refuse a county's pending scorecard (province admin; never its requester)",
)
async def refuse_scorecard(
    scorecard_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> ScorecardRead:
    """Refuses a county's pending scorecard; the one in force stays. Who: province admin, never
    the one who requested it. Answers 200; 409 when it is not pending."""
    card = await score_service.decide(session, principal, scorecard_id, approve=False)
    return ScorecardRead.model_validate(card)


@router.get(
    "/scores",
    response_model=Page[ScoreListItem],
    responses=problem_responses(NotFound, ValidationFailed),
    summary="走访清单：a region's households ranked by risk score, highest first",
)
async def list_scores(
    session: SessionDep, prefix: ScopedRegionPrefix, cursor: Cursor = None, limit: Limit = 50
) -> Page[ScoreListItem]:
    """走访清单 (visit list): the households of a region by their latest risk score, highest first
    (ties by household id), as the last scan gave them. Who: any signed-in user, inside their
    own region (outside it: 404). Answers 200 `{items, next_cursor}`."""
    stmt = score_service.ranked_query(session, prefix)
    rows, next_cursor = await paginate(
        session,
        stmt,
        [HouseholdScore.score, HouseholdScore.household_id],
        cursor,
        limit,
        entities=False,
        descending=True,
    )
    items = [ScoreListItem.model_validate(row._asdict()) for row in rows]
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/households/{household_id}/score",
    response_model=HouseholdScoreRead,
    responses=problem_responses(NotFound),
    summary="风险评分说明：a household's score and each indicator's value, points, weight and share",
)
async def get_household_score(
    household_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> HouseholdScoreRead:
    """风险评分说明: the household's latest score, the scorecard version it was given under, and per
    indicator its `value`, `points`, `weight` and `share` (points x weight; the shares add up
    to the score). Who: any signed-in user, inside their own region (outside it: 404)."""
    row, indicators = await score_service.explain(session, principal, household_id)
    return HouseholdScoreRead(
        household_id=row.household_id,
        region_code=row.region_code,
        year=row.year,
        score=float(row.score),
        scorecard_id=row.scorecard_id,
        scorecard_version=row.scorecard_version,
        scored_at=row.scored_at,
        indicators=indicators,
    )
