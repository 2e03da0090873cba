"""The compliance rules as set-based SQL: each rule selects the subjects that break it now,
with the figures; the scan upserts open findings and closes the ones no longer seen."""

from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import CursorResult, func, literal_column, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.funds.compliance.models import ComplianceScan, Finding
from services.funds.payments.repository import counted_sql
from services.funds.policy.models import FundsPolicy
from services.funds.repository import FundsRepository
from shared.auth import Principal
from shared.i18n import t
from shared.policy import in_force as policy_in_force
from shared.repository import try_advisory_xact_lock


def _policy(region: str, year: str) -> str:
    """``JOIN LATERAL`` the policy row in force, as ``po``, for each row a rule judges: its
    region (county level or below) and year are SQL of that row. The statement is
    ``shared.policy.in_force``'s, the one ``PolicyRepository.in_force`` runs for a single
    region, rendered once as SQL: the latest year not after it, within that year the county's
    own row before the province's."""
    po = aliased(FundsPolicy, name="po")
    where, order_by = policy_in_force(
        po.region_code, po.year, literal_column(region), literal_column(year)
    )
    stmt = select(po).where(*where).order_by(*order_by).limit(1)
    sql = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return f"JOIN LATERAL ({sql}) po ON true"


RULES: dict[str, str] = {
    # Allocated to a county and not paid out for the policy's idle days (资金闲置).
    "idle_funds": f"""
    WITH received AS (
        SELECT fund_id, region_code, fiscal_year, sum(amount) AS received,
               min(created_at) AS first_allocated
          FROM funds.allocations
         WHERE region_code LIKE :p || '%' AND region_code = rpad(left(region_code, 6), 12, '0')
           AND right(region_code, 6) = '000000' AND right(region_code, 8) <> '00000000'
         GROUP BY fund_id, region_code, fiscal_year
    ), paid AS (
        SELECT fund_id, region_code, sum(amount) AS paid, max(created_at) AS last_paid
          FROM funds.payments WHERE region_code LIKE :p || '%' AND {counted_sql()}
         GROUP BY fund_id, region_code
    )
    SELECT 'idle_funds' AS rule, r.region_code, 'fund' AS subject_type,
           r.fund_id::text || ':' || r.region_code AS subject_id,
           jsonb_build_object(
               'fund_id', r.fund_id, 'received', to_char(r.received, 'FM999999999990.00'),
               'paid', to_char(coalesce(p.paid, 0), 'FM999999999990.00'),
               'idle', to_char(r.received - coalesce(p.paid, 0), 'FM999999999990.00'),
               'idle_days', date_part('day', now() - coalesce(p.last_paid, r.first_allocated))::int,
               'policy_days', po.idle_days) AS figures
      FROM received r
      LEFT JOIN paid p ON p.fund_id = r.fund_id AND p.region_code = r.region_code
      {_policy("r.region_code", "r.fiscal_year")}
     WHERE r.received > coalesce(p.paid, 0)
       AND coalesce(p.last_paid, r.first_allocated) < now() - make_interval(days => po.idle_days)
    """,
    # Approved or under way, and nothing moved (no status change, no payment) for too long.
    "stalled_project": f"""
    SELECT 'stalled_project', pr.region_code, 'project', pr.id::text,
           jsonb_build_object(
               'status', pr.status, 'since', pr.status_changed_at::date,
               'days', date_part('day', now() - greatest(pr.status_changed_at, lp.last_paid))::int,
               'budget', to_char(pr.budget, 'FM999999999990.00'),
               'policy_days', po.stall_days)
      FROM funds.projects pr
      LEFT JOIN LATERAL (
          SELECT max(created_at) AS last_paid FROM funds.payments WHERE project_id = pr.id
      ) lp ON true
      {_policy("pr.region_code", "pr.fiscal_year")}
     WHERE pr.region_code LIKE :p || '%' AND pr.status IN ('approved', 'in_progress')
       AND greatest(pr.status_changed_at, lp.last_paid) < now() - make_interval(days => po.stall_days)
    """,
    # Past approval without a plan notice, or completed for long without a results notice.
    "missing_notice": f"""
    SELECT 'missing_notice', pr.region_code, 'project', pr.id::text,
           jsonb_build_object(
               'status', pr.status,
               'missing', CASE WHEN NOT EXISTS (
                   SELECT 1 FROM funds.notices n WHERE n.subject_id = pr.id AND n.purpose = 'plan')
                   THEN 'plan' ELSE 'results' END,
               'policy_days', po.results_notice_days)
      FROM funds.projects pr
      {_policy("pr.region_code", "pr.fiscal_year")}
     WHERE pr.region_code LIKE :p || '%'
       AND (
           (pr.status IN ('approved', 'in_progress', 'completed', 'accepted') AND NOT EXISTS (
               SELECT 1 FROM funds.notices n WHERE n.subject_id = pr.id AND n.purpose = 'plan'))
        OR (pr.status = 'completed'
            AND pr.status_changed_at < now() - make_interval(days => po.results_notice_days)
            AND NOT EXISTS (
               SELECT 1 FROM funds.notices n WHERE n.subject_id = pr.id AND n.purpose = 'results'))
       )
    """,
    # Operating assets that earned nothing for a year (资产闲置).
    "idle_asset": f"""
    SELECT 'idle_asset', a.region_code, 'asset', a.id::text,
           jsonb_build_object(
               'name', a.name, 'value', to_char(a.value, 'FM999999999990.00'),
               'last_income_at', li.last_income::date, 'policy_days', po.asset_idle_days)
      FROM funds.assets a
      LEFT JOIN LATERAL (
          SELECT max(created_at) AS last_income FROM funds.asset_income WHERE asset_id = a.id
      ) li ON true
      {_policy("a.region_code", "CAST(:this_year AS int)")}
     WHERE a.region_code LIKE :p || '%' AND a.kind = 'operating' AND a.status = 'active'
       AND coalesce(li.last_income, a.created_at) < now() - make_interval(days => po.asset_idle_days)
    """,
    # Income recorded and not distributed in time (收益未分配).
    "undistributed_income": f"""
    SELECT 'undistributed_income', i.region_code, 'income', i.id::text,
           jsonb_build_object(
               'asset_id', i.asset_id, 'period', i.period,
               'amount', to_char(i.amount, 'FM999999999990.00'),
               'days', date_part('day', now() - i.created_at)::int,
               'policy_days', po.undistributed_days)
      FROM funds.asset_income i
      {_policy("i.region_code", "extract(year FROM i.created_at AT TIME ZONE 'Asia/Shanghai')::int")}
     WHERE i.region_code LIKE :p || '%'
       AND NOT EXISTS (SELECT 1 FROM funds.distributions d WHERE d.income_id = i.id)
       AND i.created_at < now() - make_interval(days => po.undistributed_days)
    """,
    # Central linking funds spent on industry below the policy's minimum share, per county.
    "industry_share": f"""
    WITH spent AS (
        SELECT pay.region_code, f.fiscal_year, sum(pay.amount) AS paid,
               coalesce(sum(pay.amount) FILTER (WHERE pr.kind = 'industry'), 0) AS industry
          FROM funds.payments pay
          JOIN funds.funds f ON f.id = pay.fund_id
          JOIN funds.projects pr ON pr.id = pay.project_id
         WHERE pay.region_code LIKE :p || '%' AND f.source = 'central'
           AND {counted_sql("pay")}
         GROUP BY pay.region_code, f.fiscal_year
    )
    SELECT 'industry_share', s.region_code, 'county',
           s.region_code || ':' || s.fiscal_year,
           jsonb_build_object(
               'year', s.fiscal_year, 'paid', to_char(s.paid, 'FM999999999990.00'),
               'industry_paid', to_char(s.industry, 'FM999999999990.00'),
               'share', round(s.industry / s.paid, 4), 'minimum', po.industry_share_min,
               'previous_share', round(pv.industry / nullif(pv.paid, 0), 4))
      FROM spent s
      LEFT JOIN spent pv ON pv.region_code = s.region_code AND pv.fiscal_year = s.fiscal_year - 1
      {_policy("s.region_code", "s.fiscal_year")}
     WHERE s.paid > 0
       AND s.industry / s.paid < greatest(
           po.industry_share_min,
           CASE WHEN po.industry_share_keep_previous AND pv.paid > 0
                THEN pv.industry / pv.paid ELSE 0 END)
    """,
}


async def try_lock(session: AsyncSession) -> bool:
    """One scan at a time, whatever the number of workers: a county scan and a province scan
    running together would each close the findings the other had just refreshed."""
    return await try_advisory_xact_lock(session, "funds-compliance")


async def apply_scan(
    session: AsyncSession, prefix: str, scan_id: UUID, this_year: int
) -> tuple[int, int]:
    """Upsert what the rules see now as open findings; close the open ones they no longer see.
    ``this_year`` is China's current year (the policy year for rules not tied to a project's).
    Returns (opened, closed)."""
    current = " UNION ALL ".join(f"({sql})" for sql in RULES.values())
    await session.execute(
        text(
            "CREATE TEMP TABLE compliance_current "
            "(rule text, region_code text, subject_type text, subject_id text, figures jsonb) "
            "ON COMMIT DROP"
        )
    )
    await session.execute(
        text(f"INSERT INTO compliance_current SELECT * FROM ({current}) AS c"),
        {"p": prefix, "this_year": this_year},
    )
    upserted = await session.execute(
        text(
            """
            INSERT INTO funds.findings
                   (id, rule, region_code, subject_type, subject_id, figures, status, scan_id)
            SELECT gen_random_uuid(), rule, region_code, subject_type, subject_id, figures,
                   'open', :scan
              FROM compliance_current
            ON CONFLICT (rule, subject_id) WHERE status = 'open'
            DO UPDATE SET figures = EXCLUDED.figures, scan_id = EXCLUDED.scan_id
            RETURNING (xmax = 0) AS inserted
            """
        ),
        {"scan": scan_id},
    )
    opened = sum(1 for row in upserted if row.inserted)
    closed = await session.execute(
        text(
            """
            UPDATE funds.findings SET status = 'closed', closed_at = now()
             WHERE status = 'open' AND region_code LIKE :p || '%'
               AND scan_id IS DISTINCT FROM :scan
            """
        ),
        {"p": prefix, "scan": scan_id},
    )
    await session.execute(text("DROP TABLE compliance_current"))
    return opened, int(cast("CursorResult[Any]", closed).rowcount or 0)


def open_findings(prefix: str, rule: str | None) -> Any:
    stmt = select(Finding).where(
        Finding.status == "open", Finding.region_code.startswith(prefix, autoescape=True)
    )
    if rule is not None:
        stmt = stmt.where(Finding.rule == rule)
    return stmt


async def set_lease(
    session: AsyncSession, scan_id: UUID, state: str, *, count_attempt: bool = False
) -> None:
    """``running``: the job's lease with a fresh heartbeat; ``queued``: handed back."""
    values: dict[str, Any] = {"state": state, "heartbeat_at": func.now()}
    if count_attempt:
        values["attempts"] = ComplianceScan.attempts + 1
    await session.execute(
        update(ComplianceScan).where(ComplianceScan.id == scan_id).values(**values)
    )


async def beat(session: AsyncSession, scan_id: UUID) -> None:
    await session.execute(
        update(ComplianceScan).where(ComplianceScan.id == scan_id).values(heartbeat_at=func.now())
    )


async def fail(session: AsyncSession, scan_id: UUID, error: str) -> None:
    await session.execute(
        update(ComplianceScan)
        .where(ComplianceScan.id == scan_id, ComplianceScan.state.in_(("queued", "running")))
        .values(state="failed", error=error[:500], finished_at=func.now())
    )


async def stale_scans(session: AsyncSession, before: datetime) -> list[ComplianceScan]:
    stmt = (
        select(ComplianceScan)
        .where(
            ComplianceScan.state.in_(("queued", "running")), ComplianceScan.heartbeat_at < before
        )
        .order_by(ComplianceScan.heartbeat_at)
        .limit(500)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


class ScanRepository(FundsRepository[ComplianceScan]):
    model = ComplianceScan
    entity = "compliance_scan"
    not_found = t("scan not found", "scan.not_found")

    def visible_to(self, principal: Principal, obj: Any) -> bool:
        # A scan is its region's business: a region below does not see a province's scan.
        return principal.covers(obj.region_code)


class FindingRepository(FundsRepository[Finding]):
    model = Finding
