"""Change-feed benchmark: N events (default 10,000,000) written with ``generate_series`` into
a scratch database, in transactions of 1,000,000 events as imports would write them, then
pages of 10,000 events read through the feed's service (the page query and PostgreSQL's
JSON rendering, as ``GET /v1/changes`` answers them) from the start, the middle and the end
of the feed: for the province (monitoring's service account) and for one county (a county
department, whose events are 1/88 of the feed).

    .venv/bin/python -m bench.registry_feed 10000000

The last line printed is one JSON object: events, write_seconds, and per reader the p50 and
p99 and max milliseconds of a page (``province_page_p99_ms``, ``county_page_max_ms``, ...)
over the pages read from each of the three places (``--pages`` each, 30 by default; a county's
few pages are read again until it has as many), and ``pages``, their number per reader.
Target: 10,000 events a page in under a second (p99) at 10 million events.

``--direct`` writes the entries already numbered (position and commit time set in the
statement, the commit step's trigger bypassed, as a restore writes them): the pages read are
the same, the write takes minutes instead of half an hour at 10 million, and ``write_seconds``
then says nothing about the commit step (measured with the default path)."""

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from sqlalchemy import text

from bench._scratch import scratch_database
from services.registry.changes import service as change_service
from shared.auth import Principal, Role
from shared.db import create_engine, create_session_maker
from shared.pagination import encode_cursor

BATCH = 1_000_000
PAGE = 10_000
PROVINCE = "520000000000"
COUNTY = "522301000000"  # 兴义市

# One member snapshot per event, of the size the registry writes.
WRITE = """
INSERT INTO registry.change_log (actor, actor_role, action, entity, entity_id, household_id,
                                 region_code, op, data)
SELECT 'bench', 'service', 'create', 'member', m.id::text, m.household_id, m.region_code, 'create',
       jsonb_build_object(
           'id', m.id, 'household_id', m.household_id, 'region_code', m.region_code,
           'name', '王小明', 'id_number', '522301198005170012', 'relation', 'child',
           'sex', 'male', 'birth_date', '1980-05-17', 'ethnicity', '布依族',
           'education', '初中', 'in_school', false, 'schooling_stage', null,
           'health', 'healthy', 'disability_grade', 0, 'labour_capacity', 'ordinary',
           'migrant_work_months', 6, 'medical_insurance', true, 'pension_insurance', true,
           'dibao', false, 'tekun', false, 'departed_on', null, 'departure_reason', null)
  FROM (SELECT gen_random_uuid() AS id, gen_random_uuid() AS household_id,
               left(c.codes[1 + i % array_length(c.codes, 1)], 6) || '100001' AS region_code
          FROM generate_series(1, :n) i,
               (SELECT array_agg(code ORDER BY code) AS codes FROM registry.regions
                 WHERE level = 'county') c) m
"""


# Numbered as the commit step would number them, in the order written.
WRITE_DIRECT = WRITE.replace(
    "region_code, op, data)", "region_code, op, data, position, committed_at)"
).replace(
    "'dibao', false, 'tekun', false, 'departed_on', null, 'departure_reason', null)",
    "'dibao', false, 'tekun', false, 'departed_on', null, 'departure_reason', null),\n"
    "       nextval('registry.change_log_position_seq'), now()",
)


async def write(session_maker: Any, events: int, direct: bool = False) -> float:
    started = time.perf_counter()
    for start in range(0, events, BATCH):
        async with session_maker() as session, session.begin():
            if direct:
                await session.execute(text("SET LOCAL session_replication_role = replica"))
            statement = WRITE_DIRECT if direct else WRITE
            await session.execute(text(statement), {"n": min(BATCH, events - start)})
        print(f"wrote {start + BATCH:,} events", file=sys.stderr)
    async with session_maker() as session, session.begin():
        await session.execute(text("ANALYZE registry.change_log"))
    return time.perf_counter() - started


async def cursor_at(session_maker: Any, fraction: float, prefix: str) -> str:
    """The cursor of the event at ``fraction`` of the reader's part of the feed."""
    async with session_maker() as session:
        total = (
            await session.execute(
                text(
                    "SELECT count(*) FROM registry.change_log WHERE op IS NOT NULL AND region_code LIKE :p"
                ),
                {"p": prefix + "%"},
            )
        ).scalar_one()
        row = (
            await session.execute(
                text(
                    "SELECT position FROM registry.change_log WHERE op IS NOT NULL AND region_code LIKE :p "
                    "ORDER BY position OFFSET :o LIMIT 1"
                ),
                {"p": prefix + "%", "o": max(0, int(total * fraction) - 1)},
            )
        ).one()
    return encode_cursor([row[0]])


async def read_pages(
    session_maker: Any, principal: Principal, after: str, pages: int
) -> list[float]:
    timings = []
    async with session_maker() as session:
        for _ in range(pages):
            started = time.perf_counter()
            page = json.loads(await change_service.list_changes(session, principal, after, PAGE))
            timings.append(time.perf_counter() - started)
            if len(page["items"]) < PAGE:
                break
            after = page["next_cursor"]
    return timings


def _ms(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000, 1)


async def run(settings: Any, events: int, pages: int = 30, direct: bool = False) -> dict[str, Any]:
    engine = create_engine(settings, "povguard-bench-feed")
    session_maker = create_session_maker(engine)
    try:
        result: dict[str, Any] = {
            "events": events,
            "direct": direct,
            "write_seconds": round(await write(session_maker, events, direct), 1),
        }
        readers = {
            "province": Principal(sub="monitoring", role=Role.service, region_code=PROVINCE),
            "county": Principal(sub="county-dept", role=Role.department, region_code=COUNTY),
        }
        for name, principal in readers.items():
            timings: list[float] = []
            # A county's part of the feed is a dozen pages: its places are read again (by
            # readers coming later) until the reader has ``pages`` timings at least.
            while len(timings) < pages:
                for fraction in (0.0, 0.5, 0.97):
                    after = (
                        "0"
                        if fraction == 0
                        else await cursor_at(session_maker, fraction, principal.region_prefix)
                    )
                    timings += await read_pages(session_maker, principal, after, pages=pages)
            result[f"{name}_pages"] = len(timings)
            result[f"{name}_page_p50_ms"] = _ms(timings, 0.5)
            result[f"{name}_page_p99_ms"] = _ms(timings, 0.99)
            result[f"{name}_page_max_ms"] = _ms(timings, 1.0)
        return result
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("events", type=int, nargs="?", default=10_000_000)
    parser.add_argument("--pages", type=int, default=30, help="pages read at each place")
    parser.add_argument("--direct", action="store_true", help="write entries already numbered")
    args = parser.parse_args()
    with scratch_database("feed") as settings:
        result = asyncio.run(run(settings, args.events, args.pages, args.direct))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
