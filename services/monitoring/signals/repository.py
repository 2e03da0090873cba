import json
from typing import Any
from uuid import UUID

from sqlalchemy import String, func, select, text

from services.monitoring.alerts.models import Alert
from services.monitoring.signals.models import Signal
from services.monitoring.webhooks import signal_events_sql
from shared.repository import RepositoryBase

_INSERT = text(
    f"""
    WITH input AS (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
            source text, kind text, id_number text, household_id uuid, amount numeric,
            occurred_on date, external_ref text)
    ),
    -- Joined on the keys alone (primary key, ID number index) and scoped afterwards: a
    -- region filter inside the join lets the planner prefer scanning the whole region.
    found AS (
        SELECT i.*, coalesce(h.id, m.household_id) AS fid,
               coalesce(h.region_code, m.region_code) AS fregion
          FROM input i
          LEFT JOIN monitoring.households h ON h.id = i.household_id
          LEFT JOIN LATERAL (
                SELECT household_id, region_code FROM monitoring.members x
                 WHERE x.id_number = i.id_number
                 ORDER BY x.departed_on NULLS FIRST LIMIT 1) m ON i.id_number IS NOT NULL
    ),
    matched AS (
        SELECT f.*,
               CASE WHEN f.fregion LIKE :prefix THEN f.fid END AS hid,
               CASE WHEN f.fregion LIKE :prefix THEN f.fregion END AS hregion
          FROM found f
    ),
    touched AS (
        UPDATE monitoring.households SET changed_at = clock_timestamp()
         WHERE id IN (SELECT hid FROM matched WHERE hid IS NOT NULL)
    ),
    inserted AS (
    INSERT INTO monitoring.signals
        (source, external_ref, kind, id_number, claimed_household_id, household_id,
         region_code, amount, occurred_on, submitted_by, submitter_prefix, matched_at)
    SELECT source, external_ref, kind, id_number, household_id, hid,
           coalesce(hregion, :own_region), amount, occurred_on, :sub, :own_prefix,
           CASE WHEN hid IS NOT NULL THEN now() END
      FROM matched
    ON CONFLICT (source, submitter_prefix, external_ref) DO NOTHING
    RETURNING *
    ),
    -- Each new signal's state in the change log (the feed and webhooks).
    published AS (
        {signal_events_sql("signal.received", "inserted")}
    )
    SELECT source, external_ref FROM inserted
    """
)

_LOOKUP = text(
    """
    SELECT s.id, s.source, s.external_ref, s.household_id, s.region_code, s.kind, s.amount
      FROM monitoring.signals s
      JOIN jsonb_to_recordset(CAST(:keys AS jsonb)) AS k(source text, external_ref text)
        ON k.source = s.source AND k.external_ref = s.external_ref
     WHERE s.submitter_prefix = :prefix
    """
)


_ALERTS_OF = text(
    """
    SELECT s.id AS signal_id, a.id AS alert_id
      FROM monitoring.signals s
      JOIN monitoring.alerts a
        ON a.household_id = s.household_id AND a.figures -> 'signal_ids' ? s.id::text
     WHERE s.id = ANY(CAST(:ids AS uuid[]))
     ORDER BY a.raised_at, a.id
    """
)


class SignalRepository(RepositoryBase[Signal]):
    model = Signal

    async def insert_batch(
        self, rows: list[dict[str, Any]], prefix: str, own_region: str, sub: str
    ) -> set[tuple[str, str]]:
        result = await self.session.execute(
            _INSERT,
            {
                "rows": json.dumps(rows),
                "prefix": prefix + "%",
                "own_prefix": prefix,
                "own_region": own_region,
                "sub": sub,
            },
        )
        return {(r.source, r.external_ref) for r in result}

    async def lookup(self, keys: list[dict[str, str]], prefix: str) -> dict[tuple[str, str], Any]:
        """The signals ``keys`` name among those submitted from region ``prefix``."""
        result = await self.session.execute(_LOOKUP, {"keys": json.dumps(keys), "prefix": prefix})
        return {(r.source, r.external_ref): r for r in result}

    async def alerts_of(self, signal_ids: list[UUID]) -> dict[UUID, list[UUID]]:
        """The alerts each signal stands behind: those whose figures list it (the signal
        rules record the signals they read), looked up by the signal's household."""
        if not signal_ids:
            return {}
        result = await self.session.execute(_ALERTS_OF, {"ids": [str(i) for i in signal_ids]})
        found: dict[UUID, list[UUID]] = {}
        for row in result:
            found.setdefault(row.signal_id, []).append(row.alert_id)
        return found

    async def behind_alert(self, alert_id: UUID) -> list[Signal]:
        """The signals an alert lists, in the order the rule read them."""
        stmt = (
            select(Signal)
            .join(
                Alert,
                (Alert.household_id == Signal.household_id)
                & Alert.figures["signal_ids"].has_key(func.cast(Signal.id, String)),
            )
            .where(Alert.id == alert_id)
            .order_by(Signal.occurred_on, Signal.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    def list_query(self, prefix: str, matched: bool | None) -> Any:
        stmt = select(Signal).where(Signal.region_code.startswith(prefix, autoescape=True))
        if matched is True:
            stmt = stmt.where(Signal.household_id.is_not(None))
        elif matched is False:
            stmt = stmt.where(Signal.household_id.is_(None))
        return stmt
