"""Every statement of scorecards and scores: the scan's scoring statement among them."""

from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select, text

from services.monitoring.policy.repository import YearlyRuleRepository
from services.monitoring.projection.models import WatchedHousehold
from services.monitoring.scores.indicators import INDICATORS
from services.monitoring.scores.models import HouseholdScore, Scorecard
from shared.contracts.registry import ABLE_TO_WORK
from shared.repository import RepositoryBase

LABOUR = "(" + ", ".join(f"'{capacity}'" for capacity in ABLE_TO_WORK) + ")"


class ScorecardRepository(YearlyRuleRepository[Scorecard]):
    model = Scorecard


class ScoreRepository(RepositoryBase[HouseholdScore]):
    model = HouseholdScore

    async def of_household(self, household_id: UUID) -> HouseholdScore | None:
        return await self.session.get(HouseholdScore, household_id)

    def ranked_query(self, prefix: str) -> Any:
        return (
            select(
                HouseholdScore.household_id,
                HouseholdScore.region_code,
                HouseholdScore.year,
                HouseholdScore.score,
                HouseholdScore.scorecard_version,
                HouseholdScore.scored_at,
                WatchedHousehold.household_no,
            )
            .outerjoin(WatchedHousehold, WatchedHousehold.id == HouseholdScore.household_id)
            .where(HouseholdScore.region_code.startswith(prefix, autoescape=True))
        )

    async def score_county(self, indicators: list[dict[str, Any]], params: dict[str, Any]) -> int:
        """Score every household of the scan's scope in one statement; the rows written."""
        result = await self.session.execute(text(scoring_sql(indicators)), params)
        return int(result.scalar_one())


def _literal(value: Any) -> str:
    return str(Decimal(str(value)))  # validated numbers only: never text from a request


def _points_sql(value: str, bins: list[dict[str, Any]]) -> str:
    """The points of ``value``'s bin; 0 when there is no figure. The bins are contiguous (the
    scorecard was validated), so ``width_bucket`` over the inner bounds finds the bin."""
    if len(bins) == 1:
        return f"CASE WHEN {value} IS NULL THEN 0 ELSE {_literal(bins[0]['points'])} END"
    points = "ARRAY[" + ", ".join(_literal(b["points"]) for b in bins) + "]::float8[]"
    inner = "ARRAY[" + ", ".join(_literal(b["lower"]) for b in bins[1:]) + "]::float8[]"
    return (
        f"CASE WHEN {value} IS NULL THEN 0 ELSE ({points})[width_bucket({value}, {inner}) + 1] END"
    )


# The scope is the rules' (``alerts/repository._SCOPE``): the households a scan examines in
# one county; the aggregates read only their rows (an incremental scan's few households
# through the indexes on ``household_id``, a full scan's county by its region).
_SOURCES = f"""
    scope AS MATERIALIZED (
        SELECT id, region_code, relocated FROM monitoring.households
         WHERE region_code LIKE :prefix
           AND (CAST(:since AS timestamptz) IS NULL
                OR changed_at > CAST(:since AS timestamptz) - interval '10 minutes')
    ),
    m AS (
        SELECT household_id, count(*) AS resident,
               count(*) FILTER (WHERE labour_capacity IN {LABOUR}) AS workers,
               count(*) FILTER (WHERE birth_date > CAST(:today AS date) - interval '16 years'
                                   OR birth_date <= CAST(:today AS date) - interval '65 years')
                 AS dependants,
               count(*) FILTER (WHERE health <> 'healthy' OR disability_grade > 0) AS ill,
               bool_or(NOT in_school AND birth_date > CAST(:today AS date) - interval '16 years'
                       AND birth_date <= CAST(:today AS date) - interval '6 years')
                 AS out_of_school,
               bool_or(NOT medical_insurance) AS uninsured
          FROM monitoring.members JOIN scope ON scope.id = members.household_id
         WHERE members.region_code LIKE :prefix AND departed_on IS NULL
         GROUP BY household_id
    ),
    g AS (
        SELECT household_id,
               bool_or(kind = 'food_clothing') AS food_clothing,
               bool_or(kind = 'compulsory_education') AS compulsory_education,
               bool_or(kind = 'basic_medical') AS basic_medical,
               bool_or(kind = 'housing_safety') AS housing_safety,
               bool_or(kind = 'drinking_water') AS drinking_water
          FROM monitoring.guarantees JOIN scope ON scope.id = guarantees.household_id
         WHERE NOT ok AND guarantees.region_code LIKE :prefix
         GROUP BY household_id
    ),
    x AS (
        SELECT sig.household_id, count(*) AS shocks
          FROM monitoring.signals sig JOIN scope ON scope.id = sig.household_id
         WHERE sig.region_code LIKE :prefix AND sig.kind = ANY(CAST(:shock_kinds AS text[]))
           AND sig.occurred_on > CAST(:today AS date) - interval '12 months'
         GROUP BY sig.household_id
    )
"""


def scoring_sql(indicators: list[dict[str, Any]]) -> str:
    """``INSERT ... SELECT`` of one county's scores under ``indicators`` (a validated
    scorecard's): each indicator's value from ``INDICATORS``, its points from its bins, its
    share; a household's row rewritten only when something in it changed. Computed in
    ``float8`` and stored as ``real`` (points are whole, weights have at most 4 decimals, so
    each share rounds back to its exact figure and the score is their exact sum)."""
    n = range(len(indicators))
    values = ", ".join(
        f"({INDICATORS[i['name']].sql})::float8 AS v{k}" for k, i in enumerate(indicators)
    )
    points = ", ".join(
        f"{_points_sql(f'v{k}', i['bins'])} AS p{k}" for k, i in enumerate(indicators)
    )
    weights = [_literal(i["weight"]) for i in indicators]
    score = " + ".join(f"p{k} * {weights[k]}" for k in n)
    rows = ", ".join(f"ARRAY[v{k}, p{k}, {weights[k]}, p{k} * {weights[k]}]" for k in n)
    return f"""
    WITH {_SOURCES},
    v AS (
        SELECT s.id, s.region_code, {values}
          FROM scope s
          LEFT JOIN monitoring.economics e
                 ON e.household_id = s.id AND e.year = CAST(:year AS smallint)
                AND e.region_code LIKE :prefix
          LEFT JOIN monitoring.economics p
                 ON p.household_id = s.id AND p.year = CAST(:year AS smallint) - 1
                AND p.region_code LIKE :prefix
          LEFT JOIN m ON m.household_id = s.id
          LEFT JOIN g ON g.household_id = s.id
          LEFT JOIN x ON x.household_id = s.id
    ),
    q AS (SELECT v.*, {points} FROM v),
    scored AS (
        SELECT id, region_code, round(({score})::numeric, 4) AS score,
               ARRAY[{rows}]::real[] AS indicators
          FROM q
    ),
    -- Only what changed is written: a household scored as before is not even locked (an
    -- upsert that finds nothing to change still locks its row, a write to every page).
    changed AS (
        SELECT s.* FROM scored s
          LEFT JOIN monitoring.household_scores h
                 ON h.household_id = s.id AND h.region_code LIKE :prefix
         WHERE h.household_id IS NULL
            OR h.score IS DISTINCT FROM s.score
            OR h.indicators IS DISTINCT FROM s.indicators
            OR h.scorecard_id IS DISTINCT FROM CAST(:scorecard_id AS uuid)
            OR h.scorecard_version IS DISTINCT FROM CAST(:scorecard_version AS integer)
            OR h.year IS DISTINCT FROM CAST(:year AS smallint)
    ),
    written AS (
        INSERT INTO monitoring.household_scores AS h
            (household_id, region_code, year, score, scorecard_id, scorecard_version,
             indicators, scan_id, scored_at)
        SELECT id, region_code, CAST(:year AS smallint), score,
               CAST(:scorecard_id AS uuid), CAST(:scorecard_version AS integer),
               indicators, CAST(:scan_id AS uuid), now()
          FROM changed
        ON CONFLICT (household_id) DO UPDATE
           SET region_code = excluded.region_code, year = excluded.year, score = excluded.score,
               scorecard_id = excluded.scorecard_id,
               scorecard_version = excluded.scorecard_version,
               indicators = excluded.indicators, scan_id = excluded.scan_id,
               scored_at = excluded.scored_at
         WHERE h.score IS DISTINCT FROM excluded.score
            OR h.indicators IS DISTINCT FROM excluded.indicators
            OR h.scorecard_id IS DISTINCT FROM excluded.scorecard_id
            OR h.scorecard_version IS DISTINCT FROM excluded.scorecard_version
            OR h.year IS DISTINCT FROM excluded.year
            OR h.region_code IS DISTINCT FROM excluded.region_code
        RETURNING 1
    )
    SELECT count(*) FROM written
    """


# What an alert carries of its household's score (``alerts/repository``): the score, and
# its three largest indicators by share (``:score_names``, the scorecard's names in order;
# empty when the scan did not score).
ALERT_SCORE_JOIN = (
    "LEFT JOIN monitoring.household_scores sc ON sc.household_id = holds.household_id"
)
ALERT_SCORE_COLUMNS = """
    sc.score,
    coalesce((SELECT jsonb_agg(jsonb_build_object(
                      'name', (CAST(:score_names AS text[]))[t.o],
                      'value', round(sc.indicators[t.o][1]::numeric, 4),
                      'points', round(sc.indicators[t.o][2]::numeric, 4),
                      'weight', round(sc.indicators[t.o][3]::numeric, 4),
                      'share', round(sc.indicators[t.o][4]::numeric, 4))
                      ORDER BY sc.indicators[t.o][4] DESC, t.o)
                FROM (SELECT o FROM generate_subscripts(sc.indicators, 1) AS o
                       WHERE sc.indicators[o][4] > 0
                       ORDER BY sc.indicators[o][4] DESC, o LIMIT 3) t),
             '[]'::jsonb)
"""
