"""Import benchmark: N synthetic households (~3.5 members each) as a ledger CSV, loaded
through the real import path (parse, field validation, COPY into staging, cross-row SQL,
upsert with audit and change events), against a plain COPY of the same rows into a
scratch table in the same run.

    .venv/bin/python -m bench.registry_import 100000

The last line printed is one JSON object: member_rows_per_s, copy_rows_per_s, ratio_to_copy."""

import asyncio
import io
import json
import sys
import time

import asyncpg

from bench._scratch import scratch_database
from povguard import demo
from services.registry.imports import service as import_service
from services.registry.imports.repository import ImportRepository
from services.registry.imports.template import HOUSEHOLD_COLUMNS, ImportKind
from shared.auth import Principal, Role
from shared.db import create_engine, create_session_maker


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
    t0 = time.perf_counter()
    status = await import_service.run_import(session_maker, job.id)
    import_s = time.perf_counter() - t0
    async with session_maker() as session:
        done = await ImportRepository(session).get(job.id)
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
    finally:
        await conn.close()
    await engine.dispose()
    return {
        "households": households,
        "member_rows": len(rows),
        "import_s": round(import_s, 2),
        "copy_s": round(copy_s, 2),
        "member_rows_per_s": round(len(rows) / import_s),
        "copy_rows_per_s": round(len(rows) / copy_s),
        "ratio_to_copy": round(import_s / copy_s, 2),
    }


def main() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    households = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with scratch_database("import") as settings:
        result = asyncio.run(run(settings, households))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
