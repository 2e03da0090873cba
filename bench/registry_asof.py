"""As-of benchmark: N change-log entries (default 10,000,000) written with ``generate_series``
into a scratch database, in transactions of 1,000,000 entries (each committed through the
commit step that numbers, stamps and chains them), then as-of reads through the registry's
as-of service and the GET's schema (``GET /v1/households/{id}?as_of=`` and a village's
``GET /v1/households?as_of=``), at a moment in the middle of the log, and finally one walk of
the hash chain (``GET /v1/audit/verify``).

The log: N/10 households, ~300 to a village, each with 10 entries (its creation, three
members', six changes of the household or a member), written round by round, so a
household's entries lie in ten transactions far apart in the table, as years of changes do.

    .venv/bin/python -m bench.registry_asof 10000000

The last line printed is one JSON object: entries, households, villages, write_seconds,
get_p50_ms and get_p99_ms (a household with its members as of the moment), list_p50_ms and
list_max_ms (a village's whole list as of the moment, one page), verify_seconds.
Targets: GET p99 < 100 ms and a village's list < 1 s at 10 million entries."""

import argparse
import asyncio
import hashlib
import json
import random
import sys
import time
from typing import Any
from uuid import UUID

from sqlalchemy import text

from bench._scratch import scratch_database
from services.registry.asof import service as asof_service
from services.registry.households.schemas import HouseholdRead, HouseholdSummary
from shared.auth import Principal, Role
from shared.changelog import chain
from shared.db import create_engine, create_session_maker

BATCH = 1_000_000
ROUNDS = 10  # entries per household
PER_VILLAGE = 300
SAMPLES, VILLAGE_SAMPLES = 500, 20
PROVINCE = Principal(sub="bench", role=Role.province_admin, region_code="520000000000")

# Entry i of the log: household i % H in round i / H (0 its creation, 1-3 its members', then
# changes: even rounds the household's address, odd ones the first member's health).
WRITE = """
INSERT INTO registry.change_log (actor, actor_role, action, entity, entity_id, household_id,
                                 region_code, op, data)
SELECT 'bench', 'county_officer', e.op, e.entity, e.entity_id, e.hid, e.region, e.op,
       CASE WHEN e.entity = 'household' THEN jsonb_build_object(
           'id', e.hid, 'region_code', e.region, 'household_no', 'B' || e.h,
           'address', '丰都村' || e.r || '组', 'category', 'poverty_alleviated',
           'category_before_monitoring', null, 'poverty_causes', jsonb_build_array('因病'),
           'relocated', false, 'at_risk', false, 'external_ids', '{}'::jsonb, 'phone', null,
           'version', 1 + e.r / 2, 'created_at', '2026-01-01T00:00:00+00:00',
           'updated_at', '2026-01-01T00:00:00+00:00')
       ELSE jsonb_build_object(
           'id', e.entity_id, 'household_id', e.hid, 'region_code', e.region,
           'name', '王小明', 'id_number', '522301198005170012',
           'relation', CASE WHEN e.m = 1 THEN 'head' ELSE 'child' END,
           'sex', 'male', 'birth_date', '1980-05-17', 'birth_year', 1980, 'ethnicity', '布依族',
           'education', '初中', 'in_school', false, 'schooling_stage', null,
           'health', CASE WHEN e.r > 3 THEN 'chronic' ELSE 'healthy' END,
           'disability_grade', 0, 'labour_capacity', 'ordinary', 'migrant_work_months', 6,
           'medical_insurance', true, 'pension_insurance', true, 'dibao', false,
           'tekun', false, 'resident', true, 'departed_on', null, 'departure_reason', null,
           'version', 1 + e.r / 2) END
  FROM (SELECT h, r, m, md5('h' || h)::uuid AS hid,
               CASE WHEN m = 0 THEN md5('h' || h) ELSE md5('m' || h || '-' || m) END::uuid::text
                 AS entity_id,
               CASE WHEN m = 0 THEN 'household' ELSE 'member' END AS entity,
               CASE WHEN r = 0 OR r BETWEEN 1 AND 3 THEN 'create' ELSE 'update' END AS op,
               '52' || lpad((h % :villages)::text, 10, '0') AS region
          FROM (SELECT i % :households AS h, i / :households AS r,
                       CASE WHEN i / :households = 0 THEN 0
                            WHEN i / :households <= 3 THEN i / :households
                            WHEN i / :households % 2 = 0 THEN 0 ELSE 1 END AS m
                  FROM generate_series(:start, :end - 1) i) s) e
"""


def village(number: int) -> str:
    return "52" + str(number).rjust(10, "0")


def household_id(number: int) -> UUID:
    return UUID(hashlib.md5(f"h{number}".encode()).hexdigest())


async def write(session_maker: Any, entries: int, households: int, villages: int) -> float:
    started = time.perf_counter()
    for start in range(0, entries, BATCH):
        end = min(entries, start + BATCH)
        async with session_maker() as session, session.begin():
            params = {"start": start, "end": end, "households": households, "villages": villages}
            await session.execute(text(WRITE), params)
        print(f"wrote {end:,} entries", file=sys.stderr)
    async with session_maker() as session, session.begin():
        await session.execute(text("ANALYZE registry.change_log"))
    return time.perf_counter() - started


async def middle(session_maker: Any, entries: int) -> Any:
    """The commit time of the entry half way through the log."""
    async with session_maker() as session:
        return (
            await session.execute(
                text("SELECT committed_at FROM registry.change_log WHERE position = :p"),
                {"p": max(1, entries // 2)},
            )
        ).scalar_one()


def _ms(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000, 1)


async def reads(
    session_maker: Any, moment: Any, households: int, villages: int
) -> dict[str, float]:
    rng = random.Random(7)
    gets, lists = [], []
    async with session_maker() as session:
        for _ in range(SAMPLES):
            wanted = household_id(rng.randrange(households))
            started = time.perf_counter()
            home, members, _ = await asof_service.household(session, PROVINCE, wanted, moment)
            HouseholdRead.for_principal(home, PROVINCE, members).model_dump_json()
            gets.append(time.perf_counter() - started)
        for _ in range(VILLAGE_SAMPLES):
            started = time.perf_counter()
            rows, _, _ = await asof_service.households(
                session,
                region_prefix=village(rng.randrange(villages)),
                moment=moment,
                category=None,
                at_risk=None,
                household_no=None,
                cursor=None,
                limit=1000,
            )
            for row in rows:
                HouseholdSummary.for_principal(row, PROVINCE).model_dump_json()
            lists.append(time.perf_counter() - started)
    return {
        "get_p50_ms": _ms(gets, 0.5),
        "get_p99_ms": _ms(gets, 0.99),
        "list_p50_ms": _ms(lists, 0.5),
        "list_max_ms": _ms(lists, 1.0),
    }


async def run(settings: Any, entries: int) -> dict[str, Any]:
    engine = create_engine(settings, "povguard-bench-asof")
    session_maker = create_session_maker(engine)
    households = max(1, entries // ROUNDS)
    villages = max(1, households // PER_VILLAGE)
    try:
        result: dict[str, Any] = {
            "entries": entries,
            "households": households,
            "villages": villages,
            "write_seconds": round(await write(session_maker, entries, households, villages), 1),
        }
        moment = await middle(session_maker, entries)
        result |= await reads(session_maker, moment, households, villages)
        started = time.perf_counter()
        async with session_maker() as session:
            report = await chain.verify(session, "registry")
        assert report.ok, report
        result["verify_seconds"] = round(time.perf_counter() - started, 1)
        return result
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("entries", type=int, nargs="?", default=10_000_000)
    args = parser.parse_args()
    with scratch_database("asof") as settings:
        result = asyncio.run(run(settings, args.entries))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
