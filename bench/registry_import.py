"""Import benchmark: N synthetic households (~3.5 members each) as a ledger CSV, loaded
through the real import path (parse, field validation, COPY into staging, cross-row SQL,
upsert with audit and change events), against, in the same run, a plain COPY of the same rows
into a scratch table of text columns, and the floor: a binary COPY of the imported member rows
into an empty table with ``registry.members``' columns, indexes and foreign key (what loading
already valid rows into that table costs, before any parsing, rule, audit entry or event).

    .venv/bin/python -m bench.registry_import 100000

The last line printed is one JSON object: member_rows_per_s, copy_rows_per_s, ratio_to_copy,
floor_rows_per_s and ratio_to_floor (floor rate / import rate), and the import's peak resident
memory (``max_rss_mb``: the import runs in a fresh process, as in a worker)."""

import asyncio
import io
import json
import multiprocessing
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from uuid import UUID

import asyncpg

from bench._scratch import scratch_database
from povguard import demo
from services.registry.imports import jobs as import_jobs
from services.registry.imports import service as import_service
from services.registry.imports.repository import ImportRepository
from services.registry.imports.template import HOUSEHOLD_COLUMNS, ImportKind
from shared.auth import Principal, Role
from shared.db import create_engine, create_session_maker
from shared.settings import Settings


async def run(settings, households: int) -> dict:
    engine = create_engine(settings, "povguard-bench")
    session_maker = create_session_maker(engine)
    async with session_maker() as session, session.begin():
        villages = await demo.ensure_regions(session)
    t0 = time.perf_counter()
    rows = demo.ledger_rows(villages, households)
    content = demo.to_csv(ImportKind.households, rows)
    print(
        f"generated {len(rows)} member rows of {households} households "
        f"({len(content) / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )
    loader = Principal(sub="bench", role=Role.province_admin, region_code="520000000000")

    async with session_maker() as session, session.begin():
        job = await import_service.create_import(
            session, loader, ImportKind.households, "bench.csv", content, enqueue=False
        )
    # The import runs in a fresh process, as in a worker: its peak resident memory is the
    # import's, not the generator's.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        status, import_s, import_rss_kb = pool.submit(
            _import_in_worker, settings.database_url, str(job.id)
        ).result()
    async with session_maker() as session:
        done = await ImportRepository(session).get(job.id)
    if done is None:
        raise SystemExit(f"the import job is gone: {status}")
    if status != "done" or done.accepted != len(rows):
        raise SystemExit(f"import did not load every row: {status} {done.accepted} {done.error}")

    # The same rows, COPYed as they are into a table of the same columns (text).
    conn = await asyncpg.connect(settings.asyncpg_dsn())
    try:
        cols = ", ".join(f'"{c.header}" text' for c in HOUSEHOLD_COLUMNS)
        await conn.execute(f"CREATE TABLE bench_copy ({cols})")
        t0 = time.perf_counter()
        await conn.copy_to_table(
            "bench_copy", source=io.BytesIO(content), format="csv", header=True
        )
        copy_s = time.perf_counter() - t0
        await conn.execute("DROP TABLE bench_copy")
        floor_s = await _floor(conn)
    finally:
        await conn.close()
    await engine.dispose()
    return {
        "households": households,
        "member_rows": len(rows),
        "ledger_mb": round(len(content) / 1e6, 1),
        "import_s": round(import_s, 2),
        "copy_s": round(copy_s, 2),
        "member_rows_per_s": round(len(rows) / import_s),
        "copy_rows_per_s": round(len(rows) / copy_s),
        "ratio_to_copy": round(import_s / copy_s, 2),
        "floor_s": round(floor_s, 2),
        "floor_rows_per_s": round(len(rows) / floor_s),
        "ratio_to_floor": round(import_s / floor_s, 2),
        "max_rss_mb": round(import_rss_kb / 1024),
    }


def _import_in_worker(database_url: str, import_id: str) -> tuple[str, float, int]:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    async def main() -> tuple[str, float]:
        settings = Settings(demo=True, database_url=database_url, db_pool_size=25)
        engine = create_engine(settings, "povguard-bench-worker")
        try:
            t0 = time.perf_counter()
            status = await import_jobs.run_import(create_session_maker(engine), UUID(import_id))
            return status, time.perf_counter() - t0
        finally:
            await engine.dispose()

    status, seconds = asyncio.run(main())
    return status, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def _floor(conn: asyncpg.Connection) -> float:
    """Seconds for a binary COPY of the imported members (as stored, ids in order) into an
    empty table with the members table's columns, defaults, checks, indexes and foreign key."""
    await conn.execute(
        "CREATE TABLE bench_floor (LIKE registry.members INCLUDING ALL);"
        "ALTER TABLE bench_floor ADD FOREIGN KEY (household_id) REFERENCES registry.households(id)"
    )
    try:
        data = io.BytesIO()
        await conn.copy_from_query(
            "SELECT * FROM registry.members ORDER BY id", output=data, format="binary"
        )
        data.seek(0)
        t0 = time.perf_counter()
        await conn.copy_to_table("bench_floor", source=data, format="binary")
        return time.perf_counter() - t0
    finally:
        await conn.execute("DROP TABLE bench_floor")


def main() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    households = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with scratch_database("import") as settings:
        result = asyncio.run(run(settings, households))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
