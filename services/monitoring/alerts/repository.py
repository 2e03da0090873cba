"""Every statement of the scans and alerts, the risk rules' own included (``HOLDS``)."""

from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import CursorResult, func, select, text, update

from services.monitoring.alerts.models import Alert, Scan, ScanCounty
from services.monitoring.scores.repository import ALERT_SCORE_COLUMNS, ALERT_SCORE_JOIN
from services.monitoring.webhooks import alert_events_sql, signal_events_sql
from shared.contracts.registry import ABLE_TO_WORK
from shared.repository import RepositoryBase, try_advisory_xact_lock

# A scan transaction's work_mem: two workers scanning two counties use at most a few times it.
SCAN_WORK_MEM = "64MB"


class ScanRepository(RepositoryBase[Scan]):
    model = Scan

    async def counties_to_scan(self, prefix: str, incremental: bool) -> list[str]:
        """Counties with households under ``prefix``; incremental: only those with a household
        changed since the county's last finished scan."""
        if not incremental:
            sql = (
                "SELECT DISTINCT substr(region_code, 1, 6) FROM monitoring.households "
                "WHERE region_code LIKE :prefix ORDER BY 1"
            )
        else:
            sql = """
            SELECT DISTINCT substr(h.region_code, 1, 6)
              FROM monitoring.households h
              LEFT JOIN (SELECT substr(county_code, 1, 6) AS county, max(started_at) AS at
                           FROM monitoring.scan_counties WHERE state = 'done'
                          GROUP BY 1) last ON last.county = substr(h.region_code, 1, 6)
             WHERE h.region_code LIKE :prefix
               AND (last.at IS NULL OR h.changed_at > last.at - interval '10 minutes')
             ORDER BY 1
            """
        rows = await self.session.execute(text(sql), {"prefix": prefix + "%"})
        return [r[0].ljust(12, "0") for r in rows]

    async def provinces_to_scan(self, this_year: int) -> list[tuple[str, int]]:
        """Each province in the projection with the latest year of its own policy not in the
        future: ``(two-digit province, year)``."""
        rows = await self.session.execute(
            text(
                """
                SELECT p.province, max(pol.year) AS year
                  FROM (SELECT DISTINCT substr(region_code, 1, 2) AS province
                          FROM monitoring.households) p
                  JOIN monitoring.policies pol ON pol.region_code = p.province || '0000000000'
                 WHERE pol.year <= :this_year AND pol.status = 'active'
                 GROUP BY p.province
                """
            ),
            {"this_year": this_year},
        )
        return [(province, int(year)) for province, year in rows.all()]

    async def last_done(self, county_code: str) -> datetime | None:
        return (
            await self.session.execute(
                select(ScanCounty.started_at)
                .where(ScanCounty.county_code == county_code, ScanCounty.state == "done")
                .order_by(ScanCounty.started_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def county_waiting(self, county_code: str) -> bool:
        """Is a scan of this county queued and not started yet? (It will read every change
        made before it starts.)"""
        stmt = select(ScanCounty.scan_id).where(
            ScanCounty.county_code == county_code,
            ScanCounty.state == "queued",
            ScanCounty.started_at.is_(None),
        )
        return (await self.session.execute(stmt.limit(1))).first() is not None

    async def county(
        self, scan_id: UUID, county_code: str, *, for_update: bool = True
    ) -> ScanCounty | None:
        stmt = select(ScanCounty).where(
            ScanCounty.scan_id == scan_id, ScanCounty.county_code == county_code
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def set_county_lease(
        self, scan_id: UUID, county_code: str, state: str, *, count_attempt: bool = False
    ) -> None:
        """``running``: the job's lease, a fresh heartbeat; ``queued``: handed back (a retry,
        or the sweeper's dispatch after the heartbeat stopped, which counts as an attempt)."""
        values: dict[str, Any] = {"state": state, "heartbeat_at": func.now()}
        if count_attempt:
            values["attempts"] = ScanCounty.attempts + 1
        await self.session.execute(
            update(ScanCounty)
            .where(ScanCounty.scan_id == scan_id, ScanCounty.county_code == county_code)
            .values(**values)
        )

    async def beat(self, scan_id: UUID, county_code: str) -> None:
        await self.session.execute(
            update(ScanCounty)
            .where(ScanCounty.scan_id == scan_id, ScanCounty.county_code == county_code)
            .values(heartbeat_at=func.now())
        )

    async def stale_counties(self, before: datetime) -> list[ScanCounty]:
        """Queued or running county parts without a heartbeat since ``before``."""
        stmt = (
            select(ScanCounty)
            .where(ScanCounty.state.in_(("queued", "running")), ScanCounty.heartbeat_at < before)
            .order_by(ScanCounty.heartbeat_at)
            .limit(500)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def running_heartbeat(self) -> tuple[int, float | None]:
        """For the scrape: county parts queued or running, and the seconds since the stalest
        of them last beat."""
        stmt = select(
            func.count(), func.extract("epoch", func.now() - func.min(ScanCounty.heartbeat_at))
        ).where(ScanCounty.state.in_(("queued", "running")))
        count, age = (await self.session.execute(stmt)).one()
        return int(count), None if age is None else float(age)

    async def counties_of(self, scan_id: UUID) -> list[ScanCounty]:
        return list(
            (
                await self.session.execute(
                    select(ScanCounty)
                    .where(ScanCounty.scan_id == scan_id)
                    .order_by(ScanCounty.county_code)
                )
            ).scalars()
        )

    async def try_county_lock(self, county_code: str) -> bool:
        return await try_advisory_xact_lock(self.session, f"monitoring:scan:{county_code}")

    async def give_scan_memory(self) -> None:
        """Room for a county's hash joins and hashed subplans in this transaction
        (``SCAN_WORK_MEM``): at the server's default (4 MB) a county of 62,500 households
        sorted and hashed its members on disk, and a subplan too large to hash is a loop."""
        await self.session.execute(text(f"SET LOCAL work_mem = '{SCAN_WORK_MEM}'"))

    async def add_county_result(
        self, scan_id: UUID, examined: int, raised: int, closed: int
    ) -> None:
        await self.session.execute(
            update(Scan)
            .where(Scan.id == scan_id)
            .values(
                counties_done=Scan.counties_done + 1,
                households_examined=Scan.households_examined + examined,
                alerts_raised=Scan.alerts_raised + raised,
                alerts_closed=Scan.alerts_closed + closed,
                started_at=text("coalesce(started_at, now())"),
                state=text(
                    "CASE WHEN state = 'failed' THEN 'failed' "
                    "WHEN counties_done + 1 >= counties_total THEN 'done' ELSE 'running' END"
                ),
                finished_at=text(
                    "CASE WHEN state = 'failed' THEN finished_at "
                    "WHEN counties_done + 1 >= counties_total THEN now() END"
                ),
            )
        )

    async def mark_failed(self, scan_id: UUID, error: str) -> None:
        await self.session.execute(
            update(Scan)
            .where(Scan.id == scan_id)
            .values(state="failed", error=error, finished_at=text("now()"))
        )


class AlertRepository(RepositoryBase[Alert]):
    model = Alert

    async def open_by_county(self) -> list[tuple[str, int]]:
        """Open alerts per county (a scrape-time gauge): the open-alerts partial index only."""
        rows = await self.session.execute(
            text(
                "SELECT left(region_code, 6) || '000000', count(*) FROM monitoring.alerts "
                "WHERE status = 'open' GROUP BY 1"
            )
        )
        return [(county, count) for county, count in rows]

    def list_query(
        self, prefix: str, rule: str | None, status: str | None, kind: str | None = None
    ) -> Any:
        stmt = select(Alert).where(Alert.region_code.startswith(prefix, autoescape=True))
        if rule:
            stmt = stmt.where(Alert.rule == rule)
        if status:
            stmt = stmt.where(Alert.status == status)
        if kind:
            stmt = stmt.where(Alert.kind == kind)
        return stmt


# The risk rules' statements (预警规则), set-based over the projection. A rule is a SELECT
# over ``scope`` (the households a scan examines in one county) yielding ``household_id,
# region_code, figures`` for every household where it holds: ``HOLDS``, one per rule of
# ``rules.RULES``; the figures it compares with come from the policy as parameters.
# ``RuleRepository.run`` wraps it in one statement that raises new alerts, refreshes open ones
# and closes those whose household was examined and no longer qualifies.
# Every table a rule joins is also bounded by the county (``region_code LIKE :prefix``):
# joined by household alone, each county's statement read the whole province's rows (at
# 1,000,000 households, 2 M economics rows per join, in each of 16 counties).
LABOUR = "(" + ", ".join(f"'{capacity}'" for capacity in ABLE_TO_WORK) + ")"

HOLDS: dict[str, str] = {
    "income_below_line": """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('year', e.year,
                              'per_capita_net_income', e.per_capita_net_income::text,
                              'monitoring_line', CAST(:line AS numeric)::text) AS figures
      FROM scope s
      JOIN monitoring.economics e ON e.household_id = s.id AND e.year = CAST(:year AS smallint)
                                AND e.region_code LIKE :prefix
     WHERE e.per_capita_net_income < CAST(:line AS numeric)
    """,
    "income_drop": """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('year', e.year,
                              'per_capita_net_income', e.per_capita_net_income::text,
                              'previous_per_capita_net_income', p.per_capita_net_income::text,
                              'drop_ratio', round(1 - e.per_capita_net_income
                                                      / p.per_capita_net_income, 4),
                              'threshold_ratio', CAST(:drop AS numeric)) AS figures
      FROM scope s
      JOIN monitoring.economics e ON e.household_id = s.id AND e.year = CAST(:year AS smallint)
                                AND e.region_code LIKE :prefix
      JOIN monitoring.economics p ON p.household_id = s.id AND p.year = CAST(:year AS smallint) - 1
                                AND p.region_code LIKE :prefix
     WHERE p.per_capita_net_income > 0
       AND e.per_capita_net_income < p.per_capita_net_income * (1 - CAST(:drop AS numeric))
    """,
    "rigid_expense": """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('year', e.year, 'rigid_expenses', e.rigid_expenses::text,
                              'net_income', e.net_income::text,
                              'threshold_ratio', CAST(:rigid AS numeric)) AS figures
      FROM scope s
      JOIN monitoring.economics e ON e.household_id = s.id AND e.year = CAST(:year AS smallint)
                                AND e.region_code LIKE :prefix
     WHERE e.rigid_expenses > 0
       AND e.rigid_expenses > CAST(:rigid AS numeric) * greatest(e.net_income, 0)
    """,
    "guarantee_lost": """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('failed', jsonb_agg(DISTINCT g.kind)) AS figures
      FROM scope s
      JOIN (
            SELECT household_id, kind FROM monitoring.guarantees
             WHERE NOT ok AND region_code LIKE :prefix
            UNION ALL
            SELECT household_id, 'compulsory_education' FROM monitoring.members
             WHERE region_code LIKE :prefix AND departed_on IS NULL AND NOT in_school
               AND birth_date > CAST(:today AS date) - interval '16 years'
               AND birth_date <= CAST(:today AS date) - interval '6 years'
            UNION ALL
            SELECT household_id, 'basic_medical' FROM monitoring.members
             WHERE region_code LIKE :prefix AND departed_on IS NULL AND NOT medical_insurance
           ) g ON g.household_id = s.id
     GROUP BY s.id, s.region_code
    """,
    "labour_loss": f"""
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('resident_members', count(*)) AS figures
      FROM scope s
      JOIN monitoring.members m ON m.household_id = s.id AND m.departed_on IS NULL
                              AND m.region_code LIKE :prefix
     GROUP BY s.id, s.region_code
    HAVING count(*) FILTER (WHERE m.labour_capacity IN {LABOUR}) = 0
    """,
    "medical_expense": """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('out_of_pocket_12_months', sum(x.amount)::text,
                              'threshold', CASE WHEN s.category IN ('poverty_alleviated', 'monitored')
                                                THEN CAST(:med AS numeric)
                                                ELSE CAST(:med_other AS numeric) END::text,
                              'signals', count(*),
                              'signal_ids', jsonb_agg(x.id ORDER BY x.occurred_on, x.id))
           AS figures
      FROM scope s
      JOIN monitoring.signals x ON x.household_id = s.id AND x.region_code LIKE :prefix
     WHERE x.source = 'medical_insurance' AND x.amount IS NOT NULL
       AND x.occurred_on > CAST(:today AS date) - interval '12 months'
     GROUP BY s.id, s.region_code, s.category
    HAVING sum(x.amount) >= CASE WHEN s.category IN ('poverty_alleviated', 'monitored')
                                 THEN CAST(:med AS numeric)
                                 ELSE CAST(:med_other AS numeric) END
    """,
    "department_signal": """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('kinds', jsonb_agg(DISTINCT x.kind),
                              'sources', jsonb_agg(DISTINCT x.source),
                              'latest_on', max(x.occurred_on),
                              'signal_ids', jsonb_agg(x.id ORDER BY x.occurred_on, x.id))
           AS figures
      FROM scope s
      JOIN monitoring.signals x ON x.household_id = s.id AND x.region_code LIKE :prefix
     WHERE x.kind = ANY(CAST(:shock_kinds AS text[]))
       AND x.occurred_on > CAST(:today AS date) - interval '12 months'
     GROUP BY s.id, s.region_code
    """,
    "eligibility_anomaly": """
    SELECT s.id AS household_id, s.region_code,
           jsonb_build_object('kinds', jsonb_agg(DISTINCT x.kind),
                              'sources', jsonb_agg(DISTINCT x.source),
                              'signal_ids', jsonb_agg(x.id ORDER BY x.occurred_on, x.id))
           AS figures
      FROM scope s
      JOIN monitoring.signals x ON x.household_id = s.id AND x.region_code LIKE :prefix
     WHERE x.kind = ANY(CAST(:anomaly_kinds AS text[]))
     GROUP BY s.id, s.region_code
    """,
}

# Incremental scans look back a margin before the last scan's start: a change stamped
# before that scan began may have committed after it read the projection. Re-examining a
# household is harmless (rules are idempotent); missing one is not.
_SCOPE = """
    scope AS MATERIALIZED (
        SELECT id, region_code, category FROM monitoring.households
         WHERE region_code LIKE :prefix
           AND (CAST(:since AS timestamptz) IS NULL
                OR changed_at > CAST(:since AS timestamptz) - interval '10 minutes')
    )
"""


# The signal.linked events: each re-linked signal with its ``alert_ids`` from ``signal_alerts``.
_RELINKED_EVENTS = signal_events_sql(
    "signal.linked",
    "(SELECT s.*, l.alert_ids FROM relinked s LEFT JOIN signal_alerts l "
    "ON l.household_id = s.household_id AND l.signal_id = s.id)",
    "coalesce(r.alert_ids, '[]'::jsonb)",
)


def _statement(holds_sql: str) -> str:
    return f"""
    WITH {_SCOPE},
    holds AS MATERIALIZED ({holds_sql}),
    raised AS (
        INSERT INTO monitoring.alerts AS a
            (household_id, region_code, rule, kind, figures, policy_id, policy_year, scan_id,
             score, top_indicators)
        SELECT holds.household_id, holds.region_code, CAST(:rule AS text),
               CAST(:kind AS text), holds.figures, CAST(:policy_id AS uuid),
               CAST(:year AS smallint), CAST(:scan_id AS uuid), {ALERT_SCORE_COLUMNS}
          FROM holds {ALERT_SCORE_JOIN}
        ON CONFLICT (household_id, rule) WHERE status = 'open' DO UPDATE
           SET figures = excluded.figures, figures_updated_at = now(), scan_id = excluded.scan_id,
               policy_id = excluded.policy_id, policy_year = excluded.policy_year,
               region_code = excluded.region_code, score = excluded.score,
               top_indicators = excluded.top_indicators, version = a.version + 1
         -- An alert that still holds on the same figures is left alone: rewriting every
         -- open alert on every scan would cost a new row version each.
         WHERE a.figures IS DISTINCT FROM excluded.figures
            OR a.policy_id IS DISTINCT FROM excluded.policy_id
            OR a.region_code IS DISTINCT FROM excluded.region_code
            OR a.score IS DISTINCT FROM excluded.score
            OR a.top_indicators IS DISTINCT FROM excluded.top_indicators
        RETURNING a.*, (xmax = 0) AS inserted
    ),
    raised_events AS (
        {alert_events_sql("alert.raised", "(SELECT * FROM raised WHERE inserted)")}
    ),
    -- A signal an alert now lists, or no longer lists, has new ``alert_ids``: a new version
    -- of it, and its event. The alerts' figures before this statement (its snapshot of the
    -- table) against after (``raised``).
    links AS (
        SELECT r.id AS alert_id, CAST(x AS uuid) AS signal_id
          FROM raised r, jsonb_array_elements_text(coalesce(r.figures -> 'signal_ids', '[]')) x
    ),
    old_links AS (
        SELECT a.id AS alert_id, CAST(x AS uuid) AS signal_id
          FROM monitoring.alerts a JOIN raised r ON r.id = a.id,
               jsonb_array_elements_text(coalesce(a.figures -> 'signal_ids', '[]')) x
    ),
    relinked AS (
        UPDATE monitoring.signals s SET version = s.version + 1
         WHERE s.id IN (SELECT signal_id FROM (
                   (SELECT * FROM links EXCEPT SELECT * FROM old_links)
                   UNION ALL (SELECT * FROM old_links EXCEPT SELECT * FROM links)) d)
        RETURNING s.*
    ),
    -- Each re-linked signal's ``alert_ids`` from the alerts as they stand after this
    -- statement, grouped once: a subquery per signal over them would read them all for every
    -- signal (a county's thousands of signals times its thousands of alerts).
    alerts_after AS MATERIALIZED (
        SELECT id, household_id, raised_at, figures FROM monitoring.alerts
         WHERE household_id IN (SELECT household_id FROM relinked)
           AND id NOT IN (SELECT id FROM raised)
        UNION ALL
        SELECT id, household_id, raised_at, figures FROM raised
    ),
    signal_alerts AS (
        SELECT a.household_id, CAST(x AS uuid) AS signal_id,
               jsonb_agg(a.id ORDER BY a.raised_at, a.id) AS alert_ids
          FROM alerts_after a,
               jsonb_array_elements_text(coalesce(a.figures -> 'signal_ids', '[]')) x
         GROUP BY 1, 2
    ),
    relinked_events AS (
        {_RELINKED_EVENTS}
    ),
    -- An open alert whose figures, policy or region changed: its new state, too.
    updated_events AS (
        {alert_events_sql("alert.updated", "(SELECT * FROM raised WHERE NOT inserted)")}
    ),
    closed AS (
        UPDATE monitoring.alerts a
           SET status = 'closed', closed_at = now(), closed_by_scan_id = CAST(:scan_id AS uuid),
               closed_reason = 'a later scan found the rule no longer holds', version = a.version + 1
         WHERE a.rule = CAST(:rule AS text) AND a.status = 'open'
           AND a.region_code LIKE :prefix
           -- Subplans hashed once, whatever the alerts' statistics say. Written as joins,
           -- a stale estimate (one open alert, the table analyzed before the last scan
           -- raised 12,500) made the planner loop over the CTE for every alert: 29 s for one
           -- rule in one county. A full scan's scope is the whole county (no subplan).
           AND a.household_id NOT IN (SELECT household_id FROM holds)
           AND (CAST(:since AS timestamptz) IS NULL OR a.household_id IN (SELECT id FROM scope))
        RETURNING a.*
    ),
    closed_events AS (
        {alert_events_sql("alert.closed", "closed")}
    )
    SELECT (SELECT count(*) FROM raised WHERE inserted) AS raised,
           (SELECT count(*) FROM closed) AS closed
    """


_STATEMENTS = {name: text(_statement(sql)) for name, sql in HOLDS.items()}

# With a read replica the rule is split in two: its matches (``holds``) computed on the
# replica's snapshot, then shipped to the primary as the holds of the same statement, which
# raises, refreshes and closes there. The primary then only writes.
_MATCHES = {
    name: text(
        f"WITH {_SCOPE}, holds AS MATERIALIZED ({sql}) "
        "SELECT household_id, region_code, figures::text AS figures FROM holds"
    )
    for name, sql in HOLDS.items()
}
_SHIPPED = text(
    _statement(
        "SELECT household_id, region_code, CAST(figures AS jsonb) AS figures "
        "FROM unnest(CAST(:m_ids AS uuid[]), CAST(:m_regions AS text[]), "
        "CAST(:m_figures AS text[])) AS m(household_id, region_code, figures)"
    )
)

# A rule switched off no longer speaks for anyone: its open alerts would otherwise stay open
# for good, blocking eliminations and counting in the stats.
_CLOSE_DISABLED = text(
    f"""
    WITH closed AS (
        UPDATE monitoring.alerts
           SET status = 'closed', closed_at = now(), closed_by_scan_id = CAST(:scan_id AS uuid),
               closed_reason = 'rule switched off in the policy', version = version + 1
         WHERE rule = ANY(CAST(:rules AS text[])) AND status = 'open' AND region_code LIKE :prefix
        RETURNING *
    )
    {alert_events_sql("alert.closed", "closed")}
    """
)


_IN_SCOPE = text(
    "SELECT count(*) FROM monitoring.households WHERE region_code LIKE :prefix "
    "AND (CAST(:since AS timestamptz) IS NULL "
    "OR changed_at > CAST(:since AS timestamptz) - interval '10 minutes')"
)


class RuleRepository(RepositoryBase[Alert]):
    model = Alert

    async def run(self, name: str, kind: str, params: dict[str, Any]) -> tuple[int, int]:
        """One statement: raise, refresh and close this rule's alerts in one county;
        ``(raised, closed)``."""
        row = (
            await self.session.execute(_STATEMENTS[name], {**params, "rule": name, "kind": kind})
        ).one()
        return int(row.raised), int(row.closed)

    async def matches(self, name: str, params: dict[str, Any]) -> list[tuple[Any, str, str]]:
        """This rule's matches in one county, ``(household_id, region_code, figures JSON)``
        (run on the replica)."""
        rows = await self.session.execute(_MATCHES[name], params)
        return [(r.household_id, r.region_code, r.figures) for r in rows]

    async def apply(
        self, name: str, kind: str, params: dict[str, Any], matches: list[tuple[Any, str, str]]
    ) -> tuple[int, int]:
        """``run`` with the matches computed elsewhere: ``(raised, closed)``."""
        shipped = {
            "m_ids": [m[0] for m in matches],
            "m_regions": [m[1] for m in matches],
            "m_figures": [m[2] for m in matches],
        }
        row = (
            await self.session.execute(_SHIPPED, {**params, **shipped, "rule": name, "kind": kind})
        ).one()
        return int(row.raised), int(row.closed)

    async def close_rules(self, names: list[str], params: dict[str, Any]) -> int:
        result = await self.session.execute(
            _CLOSE_DISABLED,
            {"rules": names, "prefix": params["prefix"], "scan_id": params["scan_id"]},
        )
        return int(cast("CursorResult[Any]", result).rowcount or 0)  # one event per alert

    async def households_in_scope(self, params: dict[str, Any]) -> int:
        return int(
            (
                await self.session.execute(
                    _IN_SCOPE, {"prefix": params["prefix"], "since": params["since"]}
                )
            ).scalar_one()
        )
