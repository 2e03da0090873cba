from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.monitoring.policy import defaults
from services.monitoring.scores.indicators import described
from shared.request_model import RequestModel

Bound = Annotated[Decimal | None, Field(max_digits=14, decimal_places=4)]


class Bin(RequestModel):
    """Values from ``lower`` (inclusive) up to ``upper`` (exclusive) score ``points``; an
    absent bound is unbounded."""

    lower: Bound = None
    upper: Bound = None
    points: int = Field(ge=0, le=100, description="0 (no risk) to 100")


class IndicatorWeight(RequestModel):
    name: str = Field(max_length=40, description=f"One of: {described()}.")
    weight: Decimal = Field(ge=0, le=1, max_digits=5, decimal_places=4)
    bins: list[Bin] = Field(min_length=1, max_length=20)


def _default_indicators() -> list[IndicatorWeight]:
    return [
        IndicatorWeight(
            name=name,
            weight=Decimal(weight),
            bins=[
                Bin(
                    lower=None if lo is None else Decimal(lo),
                    upper=None if hi is None else Decimal(hi),
                    points=points,
                )
                for lo, hi, points in bins
            ],
        )
        for name, weight, bins in defaults.SCORECARD
    ]


class ScorecardWrite(RequestModel):
    """``PUT /v1/scorecards/{year}``: the indicators, each with its weight and bins (评分卡).
    Left out: the default scorecard (``policy/defaults.py``)."""

    indicators: list[IndicatorWeight] = Field(
        default_factory=_default_indicators,
        min_length=1,
        max_length=40,
        description="Weights add up to 1 (within 0.01); each indicator's bins cover its whole "
        "range, in order, without gaps or overlaps.",
    )


class ScorecardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID | None = Field(description="None for the default scorecard (version 0)")
    region_code: str
    year: int
    version: int = Field(description="0: the default scorecard a scan uses where none is set")
    status: str = Field(
        description="active | pending (a county's, awaiting the province) | superseded | "
        "refused | default"
    )
    effective_from: date | None
    effective_until: date | None
    requested_by: str | None
    decided_by: str | None
    indicators: list[IndicatorWeight]


class IndicatorScore(BaseModel):
    name: str
    value: float | None = Field(description="The household's figure (None: no data)")
    points: float
    weight: float
    share: float = Field(description="points x weight; the shares add up to the score")


class HouseholdScoreRead(BaseModel):
    """The household's score (风险评分) and how each indicator made it."""

    household_id: UUID
    region_code: str
    year: int
    score: float = Field(description="0 (no risk) to 100")
    scorecard_id: UUID | None
    scorecard_version: int
    scored_at: datetime
    indicators: list[IndicatorScore]


class ScoreListItem(BaseModel):
    household_id: UUID
    household_no: str | None
    region_code: str
    year: int
    score: float
    scorecard_version: int
    scored_at: datetime
