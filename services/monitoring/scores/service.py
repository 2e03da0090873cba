"""Risk scorecards per region and year (风险评分卡) and the households' scores (风险评分).

A scorecard is set like a policy (``policy/service.py``): a province admin's is in force at
once; a county officer's own is stored ``pending`` until a province admin approves it (who
asks does not approve); one in force is never edited, a new one supersedes it."""

from decimal import Decimal
from itertools import pairwise
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.database import change_log
from services.monitoring.policy import service as policy_service
from services.monitoring.policy.models import MonitoringPolicy
from services.monitoring.scores.indicators import INDICATORS
from services.monitoring.scores.models import HouseholdScore, Scorecard
from services.monitoring.scores.repository import ScorecardRepository, ScoreRepository
from services.monitoring.scores.schemas import (
    IndicatorScore,
    IndicatorWeight,
    ScorecardRead,
    ScorecardWrite,
)
from shared import clock, regions
from shared.auth import Principal, Role
from shared.concurrency import check_version
from shared.errors import FieldError, NotFound, ValidationFailed
from shared.i18n import Message, t

WEIGHT_TOLERANCE = Decimal("0.01")


def _bins_errors(n: int, indicator: IndicatorWeight) -> list[FieldError]:
    """Bins in order covering the indicator's whole range: no gap, no overlap."""
    known, bins, field = INDICATORS[indicator.name], indicator.bins, f"indicators.{n}.bins"
    errors = []

    def error(message: Any) -> None:
        errors.append(FieldError(field=field, message=message))

    first, last = bins[0].lower, bins[-1].upper
    if first is not None and (known.lower is None or first > known.lower):
        error(t("values below {bound} fall in no bin", "scorecard.bins_gap", bound=str(first)))
    if last is not None and (known.upper is None or last <= known.upper):
        error(t("values from {bound} up fall in no bin", "scorecard.bins_gap", bound=str(last)))
    for k, b in enumerate(bins):
        if b.lower is not None and b.upper is not None and b.lower >= b.upper:
            error(t("bin {k} is empty: lower must be below upper", "scorecard.bin_empty", k=k))
    for k, (a, b) in enumerate(pairwise(bins)):
        if a.upper is None or b.lower is None or a.upper > b.lower:
            error(t("bins {a} and {b} overlap", "scorecard.bins_overlap", a=k, b=k + 1))
        elif a.upper < b.lower:
            error(
                t(
                    "a gap between bins {a} and {b}: values from {upper} below {lower} fall "
                    "in no bin",
                    "scorecard.bins_gap",
                    a=k,
                    b=k + 1,
                    upper=str(a.upper),
                    lower=str(b.lower),
                )
            )
    return errors


def check(body: ScorecardWrite) -> None:
    """Refuse a scorecard whose weights do not add up to 1 (within 0.01), whose bins leave a
    gap or overlap, or that names an indicator the projection does not hold: 422, one entry
    per refused field."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for n, indicator in enumerate(body.indicators):
        field = f"indicators.{n}.name"
        if indicator.name not in INDICATORS:
            message = t(
                "unknown indicator {name}; known: {known}",
                "scorecard.unknown_indicator",
                name=indicator.name,
                known=", ".join(INDICATORS),
            )
            errors.append(FieldError(field=field, message=message))
            continue
        if indicator.name in seen:
            message = t(
                "indicator {name} appears twice",
                "scorecard.duplicate_indicator",
                name=indicator.name,
            )
            errors.append(FieldError(field=field, message=message))
        seen.add(indicator.name)
        errors += _bins_errors(n, indicator)
    total = sum((i.weight for i in body.indicators), Decimal(0))
    if abs(total - 1) > WEIGHT_TOLERANCE:
        message = t(
            "the weights add up to {total}, not 1 (within 0.01)",
            "scorecard.weights",
            total=str(total),
        )
        errors.append(FieldError(field="indicators", message=message))
    if errors:
        first = errors[0]
        raise ValidationFailed(
            Message("{field}: {message}", first.code, field=first.field, message=first._message),
            code=first.code,
            errors=errors,
        )


def _stored(body: ScorecardWrite) -> list[dict[str, Any]]:
    return [i.model_dump(mode="json") for i in body.indicators]


def default_read(region_code: str, year: int) -> ScorecardRead:
    """The default scorecard (``policy/defaults.py``) as GET shows it, version 0."""
    return ScorecardRead(
        id=None,
        region_code=region_code,
        year=year,
        version=0,
        status="default",
        effective_from=None,
        effective_until=None,
        requested_by=None,
        decided_by=None,
        indicators=ScorecardWrite().indicators,
    )


async def get_in_force(
    session: AsyncSession, principal: Principal, year: int, region: str | None
) -> ScorecardRead:
    """The scorecard a scan of the region and year scores with: the county's own, else the
    province's, else the default (version 0). Readable like the policy, by anyone it applies to."""
    policy_service.check_year(year)
    code = policy_service.requested_region(principal, region)
    if not (principal.covers(code) or regions.contains(code, principal.region_code)):
        raise NotFound(t("region not found", "region.not_found"))
    card = await ScorecardRepository(session).for_year(code, year)
    return default_read(code, year) if card is None else ScorecardRead.model_validate(card)


async def put_scorecard(
    session: AsyncSession,
    principal: Principal,
    year: int,
    region: str | None,
    body: ScorecardWrite,
    *,
    if_match: str | None = None,
) -> tuple[Scorecard, bool]:
    """Set a year's scorecard; ``(scorecard, created)``."""
    code = policy_service.setter_region(
        principal,
        year,
        region,
        t("a scorecard is set for a province or a county", "scorecard.wrong_level"),
        t(
            "a county officer sets the scorecard of their own county only",
            "scorecard.other_county",
        ),
    )
    check(body)
    repo = ScorecardRepository(session)
    current = await repo.exact(code, year)
    if if_match is not None:
        check_version(if_match, current.version if current else 0)
    if principal.role == Role.county_officer:
        pending = await repo.exact(code, year, "pending")
        if pending is not None:  # a new request replaces the one not yet decided
            pending.status = "superseded"
            await session.flush()
        card = repo.add(
            Scorecard(
                region_code=code,
                year=year,
                indicators=_stored(body),
                status="pending",
                requested_by=principal.sub,
            )
        )
        await session.flush()
        await _audit(session, principal, "scorecard.request", card)
        return card, True
    next_version = current.version + 1 if current is not None else 1
    if current is not None:
        _supersede(current)
        await session.flush()  # one scorecard in force per region and year
    card = repo.add(
        Scorecard(
            region_code=code,
            year=year,
            indicators=_stored(body),
            status="active",
            effective_from=clock.today(),
            requested_by=principal.sub,
        )
    )
    await session.flush()
    if next_version > 1:
        await repo.continue_version(card, next_version)
    await _audit(
        session,
        principal,
        "scorecard.create" if current is None else "scorecard.update",
        card,
        current,
    )
    return card, current is None


def _supersede(card: Scorecard) -> None:
    card.status = "superseded"
    card.effective_until = clock.today()


async def decide(
    session: AsyncSession, principal: Principal, card_id: UUID, approve: bool
) -> Scorecard:
    """The province approves (or refuses) a county's scorecard; never its requester."""
    repo = ScorecardRepository(session)
    request = await repo.get(card_id, for_update=True)
    if request is None or not principal.covers(request.region_code):
        raise NotFound(t("scorecard not found", "scorecard.not_found"))
    policy_service.ensure_decidable(
        principal,
        request,
        t(
            "this scorecard is {status}, not pending a decision",
            "scorecard.not_pending",
            status=request.status,
        ),
    )
    version = None
    if approve:
        current = await repo.exact(request.region_code, request.year)
        if current is not None:
            version = current.version + 1
            _supersede(current)
            await session.flush()
        request.effective_from = clock.today()
    request.status = "active" if approve else "refused"
    request.decided_by = principal.sub
    await session.flush()
    if version is not None:
        await repo.continue_version(request, version)
    await _audit(
        session, principal, "scorecard.approve" if approve else "scorecard.refuse", request
    )
    return request


async def _audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    card: Scorecard,
    old: Scorecard | None = None,
) -> None:
    await change_log.record(
        session,
        principal,
        action=action,
        entity="scorecard",
        entity_id=card.id,
        region_code=card.region_code,
        old=None if old is None else _snapshot(old),
        new=_snapshot(card),
    )


def _snapshot(card: Scorecard) -> dict[str, object]:
    return {c.key: getattr(card, c.key) for c in Scorecard.__table__.columns}


async def score_county(
    session: AsyncSession, policy: MonitoringPolicy, region_code: str, params: dict[str, Any]
) -> list[str]:
    """Score every household a scan examines in one county (one statement), with the
    scorecard in force for the county and year, else the default; the scorecard's indicator
    names in order (what the alerts' ``top_indicators`` name)."""
    card = await ScorecardRepository(session).for_year(region_code, policy.year)
    if card is None:
        indicators = _stored(ScorecardWrite())
        card_id, version = None, 0
    else:
        indicators, card_id, version = card.indicators, card.id, card.version
    await ScoreRepository(session).score_county(
        indicators, {**params, "scorecard_id": card_id, "scorecard_version": version}
    )
    return [i["name"] for i in indicators]


def ranked_query(session: AsyncSession, prefix: str) -> Any:
    return ScoreRepository(session).ranked_query(prefix)


async def explain(
    session: AsyncSession, principal: Principal, household_id: UUID
) -> tuple[HouseholdScore, list[IndicatorScore]]:
    """A household's score, each indicator named (from the scorecard version it was given
    under)."""
    row = await ScoreRepository(session).of_household(household_id)
    if row is None or not principal.covers(row.region_code):
        raise NotFound(t("no score for household {id}", "score.not_found", id=str(household_id)))
    if row.scorecard_id is None:
        names = [i.name for i in ScorecardWrite().indicators]
    else:
        card = await ScorecardRepository(session).get(row.scorecard_id)
        names = [i["name"] for i in card.indicators] if card is not None else []
    items = [
        IndicatorScore(
            name=name,
            value=None if value is None else round(value, 4),
            points=round(points or 0, 4),
            weight=round(weight or 0, 4),
            share=round(share or 0, 4),
        )
        for name, (value, points, weight, share) in zip(names, row.indicators, strict=False)
    ]
    return row, items
