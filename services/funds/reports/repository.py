"""Set-based queries of the reports, traces and ledger export."""

from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.payments.repository import counted_sql

_RECEIVED = text(
    """
    SELECT code, sum(amount) AS amount FROM (
        SELECT region_code AS code, amount FROM funds.allocations
         WHERE fiscal_year = :year AND region_code LIKE :p || '%'
        UNION ALL
        SELECT region_code, amount FROM funds.funds
         WHERE fiscal_year = :year AND region_code LIKE :p || '%'
    ) r
    WHERE code = :r OR (code <> :r AND code = rpad(left(code, :clen), 12, '0'))
    GROUP BY code
    """
)
_ALLOCATED = text(
    """
    SELECT from_region_code AS code, sum(amount) AS amount FROM funds.allocations
     WHERE fiscal_year = :year AND from_region_code LIKE :p || '%'
       AND (from_region_code = :r OR from_region_code = rpad(left(from_region_code, :clen), 12, '0'))
     GROUP BY from_region_code
    """
)
_PAID = text(
    f"""
    SELECT rpad(left(pay.region_code, :clen), 12, '0') AS code,
           sum(pay.amount) AS paid,
           coalesce(sum(pay.amount) FILTER (WHERE pr.kind = 'industry'), 0) AS industry
      FROM funds.payments pay
      JOIN funds.funds f ON f.id = pay.fund_id
      JOIN funds.projects pr ON pr.id = pay.project_id
     WHERE f.fiscal_year = :year AND pay.region_code LIKE :p || '%'
       AND {counted_sql("pay")}
     GROUP BY 1
    """
)


async def fund_figures(
    session: AsyncSession, region: str, prefix: str, child_len: int, year: int
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    params = {"year": year, "p": prefix, "r": region, "clen": child_len}
    received = {r.code: r.amount for r in await session.execute(_RECEIVED, params)}
    allocated = {r.code: r.amount for r in await session.execute(_ALLOCATED, params)}
    paid = {r.code: (r.paid, r.industry) for r in await session.execute(_PAID, params)}
    return received, allocated, paid


async def household_projects(session: AsyncSession, household_id: UUID) -> list[Any]:
    return list(
        await session.execute(
            text(
                """
                SELECT p.id, p.name, p.kind, p.status, p.region_code AS county_code, p.budget
                  FROM funds.project_beneficiaries b JOIN funds.projects p ON p.id = b.project_id
                 WHERE b.household_id = :h ORDER BY p.created_at, p.id
                """
            ),
            {"h": household_id},
        )
    )


async def household_payments(session: AsyncSession, household_id: UUID) -> list[Any]:
    return list(
        await session.execute(
            text(
                f"""
                SELECT id, project_id, fund_id, amount, payee, voucher_no, paid_on,
                       reverses_id AS reverses
                  FROM funds.payments WHERE household_id = :h AND {counted_sql()}
                 ORDER BY seq
                """
            ),
            {"h": household_id},
        )
    )


async def household_income_shares(session: AsyncSession, household_id: UUID) -> list[Any]:
    return list(
        await session.execute(
            text(
                """
                SELECT a.id AS asset_id, a.name AS asset_name, a.project_id, i.period,
                       s.recipient_type, s.amount
                  FROM funds.distribution_shares s
                  JOIN funds.distributions d ON d.id = s.distribution_id
                  JOIN funds.asset_income i ON i.id = d.income_id
                  JOIN funds.assets a ON a.id = s.asset_id
                 WHERE s.household_id = :h ORDER BY i.period, a.id
                """
            ),
            {"h": household_id},
        )
    )


async def fund_allocations(session: AsyncSession, fund_id: UUID, prefix: str) -> list[Any]:
    return list(
        await session.execute(
            text(
                """
                SELECT id, from_region_code, region_code, amount, purpose FROM funds.allocations
                 WHERE fund_id = :f AND (region_code LIKE :p || '%' OR from_region_code LIKE :p || '%')
                 ORDER BY created_at, id
                """
            ),
            {"f": fund_id, "p": prefix},
        )
    )


async def fund_projects(session: AsyncSession, fund_id: UUID, prefix: str) -> list[Any]:
    return list(
        await session.execute(
            text(
                """
                SELECT p.id, p.name, p.kind, p.status, p.region_code AS county_code, p.budget
                  FROM funds.project_funds pf JOIN funds.projects p ON p.id = pf.project_id
                 WHERE pf.fund_id = :f AND p.region_code LIKE :p || '%'
                 ORDER BY p.created_at, p.id
                """
            ),
            {"f": fund_id, "p": prefix},
        )
    )


async def fund_payments(session: AsyncSession, fund_id: UUID, prefix: str) -> list[Any]:
    return list(
        await session.execute(
            text(
                f"""
                SELECT id, project_id, fund_id, amount, payee, voucher_no, paid_on,
                       reverses_id AS reverses
                  FROM funds.payments WHERE fund_id = :f AND region_code LIKE :p || '%'
                   AND {counted_sql()}
                 ORDER BY seq
                """
            ),
            {"f": fund_id, "p": prefix},
        )
    )


_LEDGER = text(
    """
    SELECT a.id, a.name, a.kind, a.project_id, p.name AS project_name, a.region_code, a.value,
           a.owner_type, a.owner_id, a.custodian, a.location, a.status,
           coalesce(i.income, 0) AS income, coalesce(i.distributed, 0) AS distributed,
           a.created_at
      FROM funds.assets a
      JOIN funds.projects p ON p.id = a.project_id
      LEFT JOIN LATERAL (
          SELECT sum(ai.amount) AS income,
                 sum(ai.amount) FILTER (WHERE d.id IS NOT NULL) AS distributed
            FROM funds.asset_income ai
            LEFT JOIN funds.distributions d ON d.income_id = ai.id
           WHERE ai.asset_id = a.id
      ) i ON true
     WHERE a.region_code LIKE :p || '%' OR a.region_code = ANY(CAST(:above AS text[]))
     ORDER BY a.region_code, a.created_at, a.id
    """
)


async def ledger(
    session: AsyncSession, prefix: str, above: list[str], chunk: int = 1000
) -> AsyncIterator[Sequence[Row[Any]]]:
    """The asset ledger of the region of ``prefix`` and what the regions ``above`` hold,
    streamed from a server-side cursor ``chunk`` rows at a time: an export never holds a
    province's ledger in memory."""
    result = await session.stream(_LEDGER, {"p": prefix, "above": above})
    async for rows in result.partitions(chunk):
        yield rows
