"""Duplicate matcher benchmark (issue 26): a labelled synthetic registry (households with
injected duplicates of each kind and look-alikes that are different people, see
``bench/_dedup_data.py``) loaded into a scratch database, then one duplicate scan of the whole
province through the real path (the job's COPY into Arrow, Splink on DuckDB, the pairs'
upsert), and the proposed pairs scored against the labels.

    .venv/bin/python -m bench.dedup 1000000

The last line printed is one JSON object: members, duplicates (injected records), pairs,
precision, recall, recall_by_kind, scan_s, people_per_s, entry_check_p50_ms and
entry_check_p99_ms (the check at entry of one member against the registry), max_rss_mb. Target at 1,000,000
members with 2 % duplicates: precision >= 0.98, recall >= 0.95, the scan <= 10 minutes on the
2-core machine, memory < 4 GB."""

import argparse
import asyncio
import io
import json
import resource
import sys
import time
from typing import Any
from uuid import UUID

import asyncpg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from bench._dedup_data import generate
from bench._scratch import scratch_database
from services.registry.duplicates import jobs as duplicate_jobs
from services.registry.duplicates import service as duplicate_service
from shared.auth import Principal, Role
from shared.db import create_engine, create_session_maker

PROVINCE = "520000000000"

_LOAD = [
    "CREATE TEMP TABLE h_in (id uuid, region_code text, phone text, household_no text)",
    """CREATE TEMP TABLE m_in (member_id uuid, household_id uuid, region_code text, name text,
        id_number text, sex text, birth_date date, phone text, relation text, person_id bigint,
        kind text)""",
]
_INSERT = [
    """INSERT INTO registry.households (id, region_code, household_no, address, category,
        poverty_causes, relocated, at_risk, external_ids, phone, version)
       SELECT id, region_code, household_no, '', 'poverty_alleviated', '[]', false, false,
              '{}', phone, 1 FROM h_in""",
    """INSERT INTO registry.members (id, household_id, region_code, name, id_number, relation,
        sex, birth_date, ethnicity, in_school, health, disability_grade, labour_capacity,
        migrant_work_months, medical_insurance, pension_insurance, dibao, tekun, version)
       SELECT member_id, household_id, region_code, name, id_number, relation, sex,
              birth_date, '汉族', false, 'healthy', 0, 'ordinary', 0, true, false, false,
              false, 1 FROM m_in""",
    "CREATE TABLE public.dedup_truth AS SELECT member_id, person_id, kind FROM m_in",
    "CREATE INDEX ON public.dedup_truth (member_id)",
    "ANALYZE registry.members",
    "ANALYZE registry.households",
]
_SCORE = """
WITH proposed AS (
  SELECT a.person_id = b.person_id AS right_pair, CASE WHEN a.kind LIKE 'original' THEN b.kind
         ELSE a.kind END AS kind
    FROM registry.duplicate_pairs p
    JOIN public.dedup_truth a ON a.member_id = p.member_a
    JOIN public.dedup_truth b ON b.member_id = p.member_b)
SELECT count(*) FILTER (WHERE right_pair) AS tp, count(*) AS proposed FROM proposed"""
_TRUE_PAIRS = """
SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (
  SELECT count(*) AS n FROM public.dedup_truth GROUP BY person_id) AS people"""
# Recall by kind: each injected record found paired with its original (or another copy), by
# the pairs' two indexes (an OR over both members would not use them).
_BY_KIND = """
WITH found AS (
  SELECT d.member_id FROM public.dedup_truth d
    JOIN registry.duplicate_pairs p ON p.member_a = d.member_id
    JOIN public.dedup_truth o ON o.member_id = p.member_b AND o.person_id = d.person_id
  UNION
  SELECT d.member_id FROM public.dedup_truth d
    JOIN registry.duplicate_pairs p ON p.member_b = d.member_id
    JOIN public.dedup_truth o ON o.member_id = p.member_a AND o.person_id = d.person_id)
SELECT d.kind, count(*) AS injected, count(f.member_id) AS found
  FROM public.dedup_truth d LEFT JOIN found f USING (member_id)
 WHERE d.kind NOT IN ('original', 'twin', 'namesake')
 GROUP BY d.kind ORDER BY d.kind"""


def _csv(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


async def load(dsn: str, households: pa.Table, people: pa.Table) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for statement in _LOAD:
                await conn.execute(statement)
            await conn.copy_to_table(
                "h_in",
                source=io.BytesIO(
                    _csv(households.select(["id", "region_code", "phone", "household_no"]))
                ),
                format="csv",
            )
            await conn.copy_to_table("m_in", source=io.BytesIO(_csv(people)), format="csv")
            for statement in _INSERT:
                await conn.execute(statement)
    finally:
        await conn.close()


async def run(members: int, dup_rate: float) -> dict[str, Any]:
    households, people = generate(members, dup_rate)
    with scratch_database("dedup") as settings:
        dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
        await load(dsn, households, people)
        del households
        engine = create_engine(settings, "povguard-bench-dedup")
        try:
            conn = await asyncpg.connect(dsn)
            scan_id = await conn.fetchval(
                "INSERT INTO registry.duplicate_scans (id, region_code, status, progress, "
                "members, pairs, requested_by) VALUES (gen_random_uuid(), $1, 'queued', 0, 0, "
                "0, 'bench') RETURNING id",
                PROVINCE,
            )
            started = time.perf_counter()
            status = await duplicate_jobs.run_scan(create_session_maker(engine), UUID(str(scan_id)))
            scan_s = time.perf_counter() - started
            scan = await conn.fetchrow(
                "SELECT * FROM registry.duplicate_scans WHERE id = $1", scan_id
            )
            tp, proposed = (int(v) for v in await conn.fetchrow(_SCORE))
            true_pairs = int(await conn.fetchval(_TRUE_PAIRS))
            by_kind = {
                r["kind"]: round(int(r["found"]) / int(r["injected"]), 4)
                for r in await conn.fetch(_BY_KIND)
            }
            numbers = [
                r["id_number"]
                for r in await conn.fetch(
                    "SELECT id_number FROM registry.members ORDER BY md5(id::text) LIMIT 200"
                )
            ]
            await conn.close()
            entry_ms = await entry_checks(create_session_maker(engine), numbers)
        finally:
            await engine.dispose()
    kinds = people.column("kind")
    injected = pc.invert(pc.is_in(kinds, pa.array(["original", "twin", "namesake"])))
    look_alikes = pc.is_in(kinds, pa.array(["twin", "namesake"]))
    return {
        "members": people.num_rows,
        "duplicates": int(pc.sum(injected).as_py() or 0),
        "look_alikes": int(pc.sum(look_alikes).as_py() or 0),
        "status": status,
        "scan_members": scan["members"],
        "pairs": proposed,
        "true_pairs": int(true_pairs),
        "precision": round(tp / proposed, 4) if proposed else 0.0,
        "recall": round(tp / true_pairs, 4) if true_pairs else 0.0,
        "recall_by_kind": by_kind,
        "scan_s": round(scan_s, 1),
        "people_per_s": round(people.num_rows / scan_s),
        "entry_check_p50_ms": round(entry_ms[len(entry_ms) // 2], 1) if entry_ms else 0.0,
        "entry_check_p99_ms": round(entry_ms[int(len(entry_ms) * 0.99)], 1) if entry_ms else 0.0,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


async def entry_checks(session_maker: Any, numbers: list[str]) -> list[float]:
    """The check at entry, one member at a time as a request makes it (each a transaction)."""
    officer = Principal(sub="bench", role=Role.province_admin, region_code=PROVINCE)
    took = []
    for number in numbers:
        async with session_maker() as session, session.begin():
            started = time.perf_counter()
            await duplicate_service.possible_duplicates_by_number(session, officer, [number])
            took.append((time.perf_counter() - started) * 1000)
    return sorted(took)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("members", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--dup-rate", type=float, default=0.02)
    args = parser.parse_args()
    result = asyncio.run(run(args.members, args.dup_rate))
    print(json.dumps(result, ensure_ascii=False))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
