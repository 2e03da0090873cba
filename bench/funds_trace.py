"""Funds benchmark: household trace latency, the province fund report and the compliance scan
at province scale, on generated data in a scratch database.

    .venv/bin/python bench/funds_trace.py [--projects 100000 --payments 1000000
        --distributions 500000 --traces 300 --database-url postgresql://postgres@127.0.0.1/postgres]

Data is generated with ``generate_series`` (set-based, no Python loops over rows): 200 funds,
allocated province -> 9 prefectures -> 90 counties; projects across the counties with five
beneficiary households each; payments (a third to households' 一卡通 accounts); operating
assets whose income entries are each distributed to a household and to village works.
The household trace is measured through HTTP (the funds app on an in-process transport; the
registry is a stub that answers at once, so the figure is the funds side). The last line
printed is one JSON object: trace_p50_ms, trace_p99_ms, report_seconds, compliance_seconds."""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._scratch import template  # noqa: E402
from povguard.scratch import migrated_database  # noqa: E402
from shared.auth import Principal, Role, issue_token  # noqa: E402
from shared.contracts.registry import HouseholdCategory, HouseholdRef  # noqa: E402
from shared.db import create_engine, create_session_maker  # noqa: E402
from shared.registry_client import RegistryClient  # noqa: E402
from shared.settings import Settings  # noqa: E402
from workers.main import open_databases  # noqa: E402

SECRET = "povguard-bench-secret-0123456789-abcdefghij"
DB_NAME = f"povguard_bench_funds_{os.getpid()}"  # runs side by side never share one

GENERATE = [
    # :funds funds (200) held by the province, 2026, mostly central.
    """
    INSERT INTO funds.funds (id, region_code, source, fiscal_year, amount, document_no,
                             created_by, version)
    SELECT md5('fund' || f)::uuid, '520000000000',
           (ARRAY['central','central','central','provincial','east_west'])[1 + f % 5],
           2026, 900000000.00, 'BENCH-' || f, 'bench', 1
      FROM generate_series(0, :funds - 1) f
    """,
    # province -> prefecture (9) -> county (10 each).
    """
    INSERT INTO funds.allocations (id, fund_id, from_region_code, region_code, amount, purpose,
                                   fiscal_year, source, created_by, created_at)
    SELECT md5('ac' || f || '-' || c)::uuid, md5('fund' || f)::uuid, '520000000000',
           '52' || lpad(c::text, 2, '0') || '00000000', 100000000.00, '', 2026,
           (ARRAY['central','central','central','provincial','east_west'])[1 + f % 5], 'bench',
           now() - make_interval(days => 120)
      FROM generate_series(0, :funds - 1) f, generate_series(1, 9) c
    """,
    """
    INSERT INTO funds.allocations (id, fund_id, from_region_code, region_code, amount, purpose,
                                   fiscal_year, source, created_by, created_at)
    SELECT md5('ak' || f || '-' || c || '-' || k)::uuid, md5('fund' || f)::uuid,
           '52' || lpad(c::text, 2, '0') || '00000000',
           '52' || lpad(c::text, 2, '0') || lpad(k::text, 2, '0') || '000000', 10000000.00, '',
           2026, (ARRAY['central','central','central','provincial','east_west'])[1 + f % 5],
           'bench', now() - make_interval(days => 110)
      FROM generate_series(0, :funds - 1) f, generate_series(1, 9) c, generate_series(1, 10) k
    """,
    # Projects: county = p % 90, fund = p % :funds (every fund reaches every county).
    """
    INSERT INTO funds.projects (id, region_code, name, kind, fiscal_year, budget, status,
                                status_changed_at, created_by, version, created_at, updated_at)
    SELECT md5('p' || p)::uuid,
           '52' || lpad((1 + (p % 90) / 10)::text, 2, '0') || lpad((1 + p % 10)::text, 2, '0')
                || '000000',
           '项目' || p,
           (ARRAY['industry','industry','industry','infrastructure','housing'])[1 + p % 5],
           2026, 2000000.00,
           (ARRAY['in_progress','in_progress','approved','completed','accepted'])[1 + (p / 7) % 5],
           now() - make_interval(days => p % 400), 'bench', 1, now(), now()
      FROM generate_series(0, :projects - 1) p
    """,
    """
    INSERT INTO funds.project_funds (project_id, fund_id, region_code)
    SELECT md5('p' || p)::uuid, md5('fund' || (p % :funds))::uuid,
           '52' || lpad((1 + (p % 90) / 10)::text, 2, '0') || lpad((1 + p % 10)::text, 2, '0')
                || '000000'
      FROM generate_series(0, :projects - 1) p
    """,
    # Five beneficiary households per project (household h = p * 5 + b), in its county.
    """
    INSERT INTO funds.project_beneficiaries (project_id, household_id, region_code)
    SELECT md5('p' || p)::uuid, md5('h' || (p * 5 + b))::uuid,
           '52' || lpad((1 + (p % 90) / 10)::text, 2, '0') || lpad((1 + p % 10)::text, 2, '0')
                || '100' || lpad((1 + b)::text, 3, '0')
      FROM generate_series(0, :projects - 1) p, generate_series(0, 4) b
    """,
    """
    INSERT INTO funds.notices (id, subject_type, subject_id, purpose, region_code, starts_on,
                               ends_on, content, created_by)
    SELECT md5('n' || p)::uuid, 'project', md5('p' || p)::uuid, 'plan',
           '52' || lpad((1 + (p % 90) / 10)::text, 2, '0') || lpad((1 + p % 10)::text, 2, '0')
                || '000000',
           current_date - 60, current_date - 40, '公示', 'bench'
      FROM generate_series(0, :projects - 1) p WHERE p % 50 <> 0
    """,
    # Payments: entry i pays project i % P; every third goes to one of its households.
    """
    INSERT INTO funds.payments (id, project_id, fund_id, region_code, amount, payee, voucher_no,
                                paid_on, household_id, created_by, created_at)
    SELECT md5('pay' || i)::uuid, md5('p' || (i % :projects))::uuid,
           md5('fund' || ((i % :projects) % :funds))::uuid,
           '52' || lpad((1 + ((i % :projects) % 90) / 10)::text, 2, '0')
                || lpad((1 + (i % :projects) % 10)::text, 2, '0') || '000000',
           (100 + (i % 9000))::numeric / 100 * 100, '一卡通', 'V' || i, current_date - (i % 300),
           CASE WHEN i % 3 = 0
                THEN md5('h' || ((i % :projects) * 5 + (i / :projects) % 5))::uuid END,
           'bench', now() - make_interval(days => i % 300)
      FROM generate_series(0, :payments - 1) i
    """,
    # One operating asset per two projects; income entries distributed one each.
    """
    INSERT INTO funds.assets (id, project_id, region_code, kind, name, value, owner_type,
                              owner_id, custodian, location, status, created_by, version,
                              created_at, updated_at)
    SELECT md5('a' || p)::uuid, md5('p' || p)::uuid,
           '52' || lpad((1 + (p % 90) / 10)::text, 2, '0') || lpad((1 + p % 10)::text, 2, '0')
                || '100001',
           'operating', '资产' || p, 500000.00, 'village_collective',
           '52' || lpad((1 + (p % 90) / 10)::text, 2, '0') || lpad((1 + p % 10)::text, 2, '0')
                || '100001',
           '合作社', '', 'active', 'bench', 1, now() - interval '500 days', now()
      FROM generate_series(0, :projects - 1, 2) p
    """,
    """
    INSERT INTO funds.asset_income (id, asset_id, region_code, period, amount, created_by,
                                    created_at)
    SELECT md5('i' || d)::uuid, md5('a' || (2 * (d % (:projects / 2))))::uuid,
           '52' || lpad((1 + ((2 * (d % (:projects / 2))) % 90) / 10)::text, 2, '0')
                || lpad((1 + (2 * (d % (:projects / 2))) % 10)::text, 2, '0') || '100001',
           (2000 + d / (:projects / 2))::text, 1000.00, 'bench',
           now() - make_interval(days => d % 700)
      FROM generate_series(0, :distributions - 1) d
    """,
    """
    INSERT INTO funds.distributions (id, asset_id, income_id, region_code, method, note,
                                     created_by)
    SELECT md5('d' || d)::uuid, md5('a' || (2 * (d % (:projects / 2))))::uuid,
           md5('i' || d)::uuid, '520000000000', 'amounts', '', 'bench'
      FROM generate_series(0, :distributions - 1) d WHERE d % 20 <> 0
    """,
    """
    INSERT INTO funds.distribution_shares (id, distribution_id, position, asset_id, region_code,
                                           recipient_type, household_id, label, amount)
    SELECT md5('s' || d || '-' || s)::uuid, md5('d' || d)::uuid, s,
           md5('a' || (2 * (d % (:projects / 2))))::uuid, '520000000000',
           CASE s WHEN 0 THEN 'household' ELSE 'village_works' END,
           CASE s WHEN 0 THEN md5('h' || ((2 * (d % (:projects / 2))) * 5 + d % 5))::uuid END,
           '', 500.00
      FROM generate_series(0, :distributions - 1) d, generate_series(0, 1) s WHERE d % 20 <> 0
    """,
]


def registry_stub(households: dict[str, str]) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/households/{household_id}")
    async def household(household_id: str) -> JSONResponse:
        region = households.get(household_id)
        if region is None:
            return JSONResponse({"status": 404}, status_code=404)
        ref = HouseholdRef(
            id=UUID(household_id),
            region_code=region,
            household_no=household_id[:16],
            category=HouseholdCategory.poverty_alleviated,
            version=1,
        )
        return JSONResponse(ref.model_dump(mode="json"))

    @app.get("/v1/households/{household_id}/measures")
    async def measures(household_id: str) -> JSONResponse:
        return JSONResponse({"items": [], "next_cursor": None})

    return app


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with migrated_database(args.database_url, DB_NAME, keep=args.keep, template=template()) as url:
        return await _run(args, url)


async def _run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    settings = Settings(demo=False, secret_key=SECRET, database_url=url, redis_url=args.redis_url)
    db = await asyncpg.connect(settings.asyncpg_dsn())
    started = time.perf_counter()
    sizes = {
        "funds": args.funds,
        "projects": args.projects,
        "payments": args.payments,
        "distributions": args.distributions,
    }
    for sql in GENERATE:
        for name, value in sizes.items():
            sql = sql.replace(f":{name}", str(value))
        await db.execute(sql)
    await db.execute("ANALYZE")
    generated = time.perf_counter() - started
    print(f"generated in {generated:.1f} s: {sizes}", file=sys.stderr)
    sample = await db.fetch(
        "SELECT household_id::text AS h, region_code FROM funds.project_beneficiaries "
        "TABLESAMPLE SYSTEM (5) LIMIT $1",
        args.traces,
    )
    if len(sample) < args.traces:  # a small table: 5% of its pages may be none of them
        sample = await db.fetch(
            "SELECT household_id::text AS h, region_code FROM funds.project_beneficiaries LIMIT $1",
            args.traces,
        )
    await db.close()

    from services.funds.app import create_app

    engine = create_engine(settings, "povguard-bench")
    app = create_app(settings)
    app.state.engine = engine
    app.state.session_maker = create_session_maker(engine)
    app.state.arq = None
    app.state.http = httpx.AsyncClient()
    registry_http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=registry_stub({r["h"]: r["region_code"] for r in sample}))
    )
    app.state.registry = RegistryClient(registry_http, settings, base_url="http://registry")
    token = issue_token(settings, Principal("bench", Role.province_admin, "520000000000"))
    headers = {"Authorization": f"Bearer {token}"}
    timings: list[float] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://funds", headers=headers
    ) as client:
        for row in sample[:5]:  # warm the pool and caches
            await client.get(f"/v1/trace/households/{row['h']}")
        for row in sample:
            t0 = time.perf_counter()
            response = await client.get(f"/v1/trace/households/{row['h']}")
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.text
        t0 = time.perf_counter()
        report = await client.get("/v1/reports/funds", params={"year": 2026})
        report_seconds = time.perf_counter() - t0
        assert report.status_code == 200, report.text
        print(f"province report: paid {report.json()['paid']}", file=sys.stderr)

    from services.funds.jobs import compliance_scan

    # The job's context as the worker builds it (its settings and both pools), so the bench
    # calls the job the way the worker does.
    ctx: dict[str, Any] = {"settings": settings, "redis": None}
    open_databases(ctx)
    t0 = time.perf_counter()
    result = await compliance_scan(ctx)
    compliance_seconds = time.perf_counter() - t0
    print(f"compliance: {result}", file=sys.stderr)
    await ctx["engine"].dispose()
    await ctx["bulk_engine"].dispose()
    await registry_http.aclose()
    await app.state.http.aclose()
    await engine.dispose()
    timings.sort()
    return {
        "funds": args.funds,
        "projects": args.projects,
        "payments": args.payments,
        "distributions": args.distributions,
        "traces": len(timings),
        "generate_seconds": round(generated, 1),
        "trace_p50_ms": round(statistics.median(timings), 2),
        "trace_p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 2),
        "report_seconds": round(report_seconds, 3),
        "compliance_seconds": round(compliance_seconds, 2),
    }


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--funds", type=int, default=200)
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--distributions", type=int, default=500_000)
    parser.add_argument("--traces", type=int, default=300)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "POVGUARD_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("POVGUARD_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    print(json.dumps(asyncio.run(main(parser.parse_args(argv)))))


if __name__ == "__main__":
    cli()
