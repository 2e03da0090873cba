"""Yearly economics (家庭收支) and per-capita net income, as the monitoring compares it with
the year's line (domain.md section 2):

    net_income            = wage + operating (net) + property + transfer
    rigid_expenses        = medical_out_of_pocket + education + disaster_loss + other_rigid
    per_capita_net_income = (net_income - rigid_expenses) / resident members,
                            rounded half-up to the fen
"""

from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.changes.service import publish
from services.registry.economics.models import HouseholdEconomics
from services.registry.economics.repository import EconomicsRepository
from services.registry.economics.schemas import FIRST_YEAR, EconomicsInput
from services.registry.households import service as household_service
from shared import clock
from shared.auth import Principal
from shared.concurrency import check_version
from shared.contracts.registry import ChangeEntity, ChangeOp, EconomicsSnapshot
from shared.errors import NotFound, ValidationFailed
from shared.i18n import t

CENT = Decimal("0.01")


def per_capita(net_income: Decimal, rigid: Decimal, residents: int) -> Decimal:
    return ((net_income - rigid) / residents).quantize(CENT, rounding=ROUND_HALF_UP)


def check_year(year: int) -> None:
    if year < FIRST_YEAR or year > clock.today().year:
        raise ValidationFailed.field(
            "year",
            t(
                "must be between {first} and {last}",
                "economics.year_range",
                first=FIRST_YEAR,
                last=clock.today().year,
            ),
        )


async def put_year(
    session: AsyncSession,
    principal: Principal,
    household_id: UUID,
    year: int,
    data: EconomicsInput,
    if_match: str | None,
) -> HouseholdEconomics:
    household_service.ensure_can_write(principal)
    check_year(year)
    household = await household_service.get_household(
        session, principal, household_id, for_update=True, members=False
    )
    repo = EconomicsRepository(session)
    residents = await repo.resident_members(household.id)
    if residents == 0:
        raise ValidationFailed.field(
            "household_id",
            "the household has no resident member to divide income by",
            code="economics.no_residents",
        )
    net = data.wage + data.operating + data.property + data.transfer
    rigid = data.medical_out_of_pocket + data.education + data.disaster_loss + data.other_rigid
    values = data.model_dump() | {
        "net_income": net,
        "rigid_expenses": rigid,
        "resident_members": residents,
        "per_capita_net_income": per_capita(net, rigid, residents),
    }
    row = await repo.get_year(household.id, year)
    old = None
    if row is None:
        row = repo.add(
            HouseholdEconomics(
                household_id=household.id, year=year, region_code=household.region_code, **values
            )
        )
        op = ChangeOp.create
    else:
        if if_match is not None:
            check_version(if_match, row.version)
        old = EconomicsSnapshot.model_validate(row, from_attributes=True).model_dump()
        for field, value in values.items():
            setattr(row, field, value)
        op = ChangeOp.update
    await session.flush()
    await publish(
        session,
        principal,
        entity=ChangeEntity.economics,
        entity_id=f"{household.id}:{year}",
        household_id=household.id,
        region_code=household.region_code,
        op=op,
        data=EconomicsSnapshot.model_validate(row, from_attributes=True),
        old=old,
    )
    return row


async def list_years(
    session: AsyncSession, principal: Principal, household_id: UUID
) -> list[HouseholdEconomics]:
    household = await household_service.get_household(session, principal, household_id)
    return await EconomicsRepository(session).years(household.id)


async def get_year(
    session: AsyncSession, principal: Principal, household_id: UUID, year: int
) -> HouseholdEconomics:
    for row in await list_years(session, principal, household_id):
        if row.year == year:
            return row
    raise NotFound(t("no economics for {year}", "economics.not_found", year=year))
