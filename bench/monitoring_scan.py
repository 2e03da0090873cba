"""Monitoring scan benchmark: a projection of N households (~3.5 members each, two years of
economics, five guarantees, department signals) built with generate_series in a scratch
database, a full scan of every rule through the real scan path (one job per county, two at
a time like two workers), against a bare SQL read of the same rows (the floor).

    .venv/bin/python -m bench.monitoring_scan 200000

The scan runs twice from the same state: without scoring (``scan_seconds``), then, its
alerts removed, with every household scored under the default scorecard
(``scan_with_scores_seconds``; each alert then carries its household's score). Each is
followed by the daily case, the same scan again with nothing changed since
(``rescan_seconds``, ``rescan_with_scores_seconds``).

The last line printed is one JSON object: households, scan_seconds, scan_with_scores_seconds,
scoring_overhead, the rescans and their overhead, floor_seconds, ratio_to_floor,
signals_per_s. Targets: a full scan of
1,000,000 households under 60 s; scoring adds at most 30 % to it (issue 25)."""

import asyncio
import json
import os
import sys
import time
from datetime import date, timedelta
from typing import Any

import asyncpg

from bench._scratch import scratch_database
from services.monitoring.alerts import service as scan_service
from services.monitoring.alerts.schemas import ScanCreate, ScanMode
from services.monitoring.signals.repository import SignalRepository
from shared.auth import Principal, Role
from shared.db import create_engine, create_session_maker
from shared.replica import snapshot as replica_snapshot

COUNTIES = [
    "522301", "522302", "522323", "522324", "522325", "522326", "522327", "522328",
    "520102", "520103", "520111", "520112", "520113", "520115", "520121", "520122",
]  # fmt: skip
PROVINCE = "520000000000"
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))

_BUILD = [
    # Households of each county together, 10 townships x 50 villages each, as the projection
    # holds them: the register is loaded county by county (a county's ledger at a time) and
    # the projection follows its feed in that order. Dealt round-robin instead, every page of
    # every table holds every county, and each county's statements read the whole tables:
    # 16 counties read them 16 times (bench/README, "the data's layout").
    """
    INSERT INTO monitoring.households (id, region_code, household_no, category, relocated, at_risk, changed_at)
    SELECT md5('h' || i)::uuid,
           (ARRAY[{counties}])[1 + ((i - 1) * {n_counties}) / {households}]
             || lpad((101 + (i / {n_counties}) % 10)::text, 3, '0')
             || lpad((1 + (i / ({n_counties} * 10)) % 50)::text, 3, '0'),
           'H' || i,
           CASE WHEN i % 20 = 0 THEN 'monitored' WHEN i % 10 < 7 THEN 'poverty_alleviated'
                ELSE 'ordinary' END,
           i % 13 = 0, false, now() - interval '1 day'
      FROM generate_series(1, {households}) AS i
    """,
    # 3 or 4 members each (3.5 on average); 1 household in 50 has nobody able to work.
    """
    INSERT INTO monitoring.members (id, household_id, region_code, id_number, relation, birth_date,
        in_school, schooling_stage, health, disability_grade, labour_capacity, medical_insurance,
        dibao, tekun, departed_on)
    SELECT md5('m' || i || '-' || k)::uuid, h.id, h.region_code,
           -- Unique like real ID numbers (the shape, not the checksum, matters here).
           substr(h.region_code, 1, 6) || lpad((i * 4 + k)::text, 11, '0') || 'X',
           CASE k WHEN 0 THEN 'head' WHEN 1 THEN 'spouse' ELSE 'child' END,
           b.born, k >= 2 AND i % 40 <> 0, NULL,
           CASE WHEN i % 60 = 0 THEN 'serious' ELSE 'healthy' END,
           0, CASE WHEN i % 50 = 0 THEN 'none' WHEN k < 2 THEN 'ordinary' ELSE 'weak' END,
           i % 200 <> 0, false, false, NULL
      FROM generate_series(1, {households}) AS i
      JOIN monitoring.households h ON h.id = md5('h' || i)::uuid
      CROSS JOIN LATERAL generate_series(0, 2 + i % 2) AS k
      CROSS JOIN LATERAL (SELECT CASE WHEN k < 2 THEN date '1955-01-01' + (i * 7 + k) % 14000
                                      ELSE date '2004-01-01' + (i * 7 + k) % 6000 END AS born) b
    """,
    # Two years of economics: 1 in 20 under the line, 1 in 33 with a sharp drop, 1 in 97
    # with heavy rigid spending.
    """
    INSERT INTO monitoring.economics (household_id, year, region_code, net_income, rigid_expenses,
        medical_out_of_pocket, resident_members, per_capita_net_income)
    SELECT h.id, y, h.region_code, (pc * (3 + i % 2) + r)::numeric(14, 2), r::numeric(14, 2),
           r::numeric(14, 2), 3 + i % 2, pc::numeric(14, 2)
      FROM generate_series(1, {households}) AS i
      JOIN monitoring.households h ON h.id = md5('h' || i)::uuid
      CROSS JOIN generate_series(2020, 2021) AS y
      CROSS JOIN LATERAL (SELECT CASE WHEN i % 20 = 0 THEN 4000 + i % 1900
                                      ELSE 6500 + (hashint4(i) & 65535) % 12000 END AS base) b
      CROSS JOIN LATERAL (
            SELECT CASE WHEN y = 2021 THEN b.base
                        WHEN i % 33 = 0 THEN b.base * 1.6
                        ELSE b.base * 0.95 END AS pc,
                   CASE WHEN i % 97 = 0 AND y = 2021 THEN 30000 ELSE 500 END AS r) x
    """,
    """
    INSERT INTO monitoring.guarantees (household_id, kind, region_code, ok, checked_on)
    SELECT h.id, g.kind, h.region_code, NOT (g.kind = 'housing_safety' AND i % 100 = 0),
           date '2021-06-01'
      FROM generate_series(1, {households}) AS i
      JOIN monitoring.households h ON h.id = md5('h' || i)::uuid
      CROSS JOIN unnest(ARRAY['food_clothing', 'compulsory_education', 'basic_medical',
                              'housing_safety', 'drinking_water']) AS g(kind)
    """,
    "ANALYZE monitoring.households",
    "ANALYZE monitoring.members",
    "ANALYZE monitoring.economics",
    "ANALYZE monitoring.guarantees",
]

# The floor: one bare read of every row the rules read, joined as the rules join them.
_FLOOR = """
SELECT count(*), sum(e.per_capita_net_income), sum(p.per_capita_net_income),
       sum(m.workers), sum(g.failed), sum(s.amount)
  FROM monitoring.households h
  LEFT JOIN monitoring.economics e ON e.household_id = h.id AND e.year = 2021
  LEFT JOIN monitoring.economics p ON p.household_id = h.id AND p.year = 2020
  LEFT JOIN (SELECT household_id, count(*) FILTER (WHERE labour_capacity <> 'none') AS workers
               FROM monitoring.members GROUP BY 1) m ON m.household_id = h.id
  LEFT JOIN (SELECT household_id, count(*) FILTER (WHERE NOT ok) AS failed
               FROM monitoring.guarantees GROUP BY 1) g ON g.household_id = h.id
  LEFT JOIN (SELECT household_id, sum(amount) AS amount FROM monitoring.signals
              GROUP BY 1) s ON s.household_id = h.id
"""


def _signals(households: int, count: int) -> list[dict[str, Any]]:
    """Department signals naming members by ID number, as the medical-insurance and
    emergency bureaus would send them (amounts high enough for some to cross thresholds)."""
    recent = date.today() - timedelta(days=40)
    rows = []
    for j in range(count):
        i = 1 + (j * 7919) % households
        kind, source = (
            ("out_of_pocket_medical", "medical_insurance")
            if j % 4
            else ("disaster_loss", "emergency")
        )
        rows.append(
            {
                "source": source,
                "kind": kind,
                "id_number": None,
                "household_id": None,
                "i": i,
                "amount": str(1000 + (j * 37) % 9000),
                "occurred_on": recent.isoformat(),
                "external_ref": f"bench-{j}",
            }
        )
    return rows


async def build_projection(conn: asyncpg.Connection, households: int) -> None:
    """The monitoring projection of ``households`` synthetic households, in SQL."""
    counties = ", ".join(f"'{c}'" for c in COUNTIES)
    for sql in _BUILD:
        await conn.execute(
            sql.format(counties=counties, n_counties=len(COUNTIES), households=households)
        )


async def full_scan(
    session_maker: Any, workers: int = WORKERS, replica: Any = None, *, scoring: bool = True
) -> tuple[Any, float]:
    """A full scan of every county through the real scan path, ``workers`` counties at a time
    (as that many ARQ workers would); returns the scan's id and its seconds. ``replica``
    (shared.replica.Replica): the rules' matches read from it, as a worker does."""
    admin = Principal(sub="bench", role=Role.province_admin, region_code=PROVINCE)
    async with session_maker() as session, session.begin():
        scan = await scan_service.create_scan(
            session, admin, ScanCreate(region_code=PROVINCE, year=2021, mode=ScanMode.full)
        )
        scan_id = scan.id
        # Run here, not through a queue: the county jobs stay in this scratch outbox.
    queue: asyncio.Queue[str] = asyncio.Queue()
    for county in COUNTIES:
        queue.put_nowait(county.ljust(12, "0"))

    async def worker() -> None:
        while not queue.empty():
            county = queue.get_nowait()
            async with (
                session_maker() as session,
                session.begin(),
                replica_snapshot(replica) as reader,
            ):
                await scan_service.scan_county(session, scan_id, county, reader, scoring=scoring)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return scan_id, time.perf_counter() - t0


async def run(settings: Any, households: int) -> dict[str, Any]:
    conn = await asyncpg.connect(settings.asyncpg_dsn())
    t0 = time.perf_counter()
    await build_projection(conn, households)
    print(
        f"built a projection of {households} households in {time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )
    # Signals go through the real ingestion path (set-based match on ID numbers).
    signal_rows = _signals(households, max(1000, households // 20))
    numbers = dict(
        await conn.fetch(
            "SELECT substr(household_no, 2)::int, id_number FROM monitoring.households h "
            "JOIN monitoring.members m ON m.household_id = h.id AND m.relation = 'head' "
            "WHERE substr(household_no, 2)::int = ANY($1::int[])",
            list({r["i"] for r in signal_rows}),
        )
    )
    for row in signal_rows:
        row["id_number"] = numbers[row.pop("i")]
    engine = create_engine(settings, "povguard-bench")
    session_maker = create_session_maker(engine)
    t0 = time.perf_counter()
    for start in range(0, len(signal_rows), 5000):
        async with session_maker() as session, session.begin():
            await SignalRepository(session).insert_batch(
                signal_rows[start : start + 5000], "52", PROVINCE, "bench"
            )
    signals_s = time.perf_counter() - t0
    await conn.execute("ANALYZE monitoring.signals")
    await conn.execute("ANALYZE monitoring.households")

    scan_id, scan_s = await full_scan(session_maker, scoring=False)
    # The daily scan: the same again, nothing changed since (every alert already open).
    _, rescan_s = await full_scan(session_maker, scoring=False)
    # Both again from the same state (no alert open yet), scoring every household.
    await conn.execute("TRUNCATE monitoring.alerts")
    await conn.execute("VACUUM ANALYZE monitoring.alerts")
    scan_id, scored_s = await full_scan(session_maker, scoring=True)
    _, rescored_s = await full_scan(session_maker, scoring=True)
    scores = await conn.fetchrow(
        "SELECT count(*) AS n, round(avg(score), 2) AS mean, max(score) AS top, "
        "pg_size_pretty(pg_total_relation_size('monitoring.household_scores')) AS size "
        "FROM monitoring.household_scores"
    )
    print(f"scores: {dict(scores)}", file=sys.stderr)
    result = await conn.fetchrow(
        "SELECT state, households_examined, alerts_raised FROM monitoring.scans WHERE id = $1",
        scan_id,
    )
    by_rule = await conn.fetch(
        "SELECT rule, count(*) FROM monitoring.alerts WHERE status = 'open' GROUP BY 1 ORDER BY 1"
    )
    print(f"scan: {dict(result)}; alerts by rule: {dict(by_rule)}", file=sys.stderr)
    t0 = time.perf_counter()
    await conn.fetch(_FLOOR)
    floor_s = time.perf_counter() - t0
    await conn.close()
    await engine.dispose()
    return {
        "households": households,
        "members": households * 7 // 2,
        "workers": WORKERS,
        "alerts_raised": result["alerts_raised"],
        "scan_seconds": round(scan_s, 2),
        "scan_with_scores_seconds": round(scored_s, 2),
        "scoring_overhead": round(scored_s / scan_s - 1, 3),
        "rescan_seconds": round(rescan_s, 2),
        "rescan_with_scores_seconds": round(rescored_s, 2),
        "rescan_scoring_overhead": round(rescored_s / rescan_s - 1, 3),
        "households_scored": scores["n"],
        "floor_seconds": round(floor_s, 2),
        "ratio_to_floor": round(scan_s / floor_s, 2),
        "signals": len(signal_rows),
        "signals_per_s": round(len(signal_rows) / signals_s),
    }


def main() -> None:
    households = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with scratch_database("monscan") as settings:
        result = asyncio.run(run(settings, households))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
