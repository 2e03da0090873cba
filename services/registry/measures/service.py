"""Help measures (帮扶措施) and responsible cadres (帮扶责任人, 结对帮扶)."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.changes.service import publish
from services.registry.database import change_log
from services.registry.households import service as household_service
from services.registry.measures.models import Cadre, HelpMeasure
from services.registry.measures.repository import CadreRepository, MeasureRepository
from services.registry.measures.schemas import (
    CadreCreate,
    CadreRead,
    PairingCreate,
    PairingResult,
)
from services.registry.regions import service as region_service
from shared.auth import Principal
from shared.contracts.registry import ChangeEntity, ChangeOp, MeasureCreate, MeasureSnapshot
from shared.errors import NotFound, ValidationFailed
from shared.i18n import t

# Sinan's and Qianxinan's "10+5+2": how many households a cadre of each rank helps.
PAIRING_TARGET = {"county": 10, "section": 5, "other": 2}


async def read_cadre(session: AsyncSession, principal: Principal, cadre_id: UUID) -> CadreRead:
    cadre = await get_cadre(session, principal, cadre_id)
    return CadreRead.model_validate(cadre).model_copy(
        update={
            "households": await CadreRepository(session).count_pairs(cadre.id),
            "pairing_target": PAIRING_TARGET.get(cadre.rank, PAIRING_TARGET["other"]),
        }
    )


async def get_cadre(session: AsyncSession, principal: Principal, cadre_id: UUID) -> Cadre:
    cadre = await CadreRepository(session).get(cadre_id)
    if cadre is None or not (
        principal.covers(cadre.region_code) or region_service.visible(principal, cadre.region_code)
    ):
        raise NotFound(t("cadre {cadre_id} not found", "cadre.not_found", cadre_id=cadre_id))
    return cadre


async def add_measure(
    session: AsyncSession, principal: Principal, household_id: UUID, data: MeasureCreate
) -> HelpMeasure:
    household_service.ensure_can_write(principal)
    household = await household_service.get_household(session, principal, household_id)
    if data.end is not None and data.end < data.start:
        raise ValidationFailed.field(
            "end", "may not be before start", code="measure.end_before_start"
        )
    if data.responsible_cadre_id is not None:
        try:
            await get_cadre(session, principal, data.responsible_cadre_id)
        except NotFound:
            raise ValidationFailed.field(
                "responsible_cadre_id", "no such cadre in your region", code="cadre.not_found"
            ) from None
    measure = MeasureRepository(session).add(
        HelpMeasure(
            household_id=household.id, region_code=household.region_code, **data.model_dump()
        )
    )
    await session.flush()
    await publish(
        session,
        principal,
        entity=ChangeEntity.measure,
        entity_id=measure.id,
        household_id=household.id,
        region_code=household.region_code,
        op=ChangeOp.create,
        data=MeasureSnapshot.model_validate(measure, from_attributes=True),
    )
    return measure


async def list_measures(
    session: AsyncSession, principal: Principal, household_id: UUID, cursor: str | None, limit: int
) -> tuple[list[HelpMeasure], str | None]:
    household = await household_service.get_household(session, principal, household_id)
    return await MeasureRepository(session).for_household(household.id, cursor, limit)


async def create_cadre(session: AsyncSession, principal: Principal, data: CadreCreate) -> Cadre:
    household_service.ensure_can_write(principal)
    await household_service.require_region_in_scope(session, principal, data.region_code)
    cadre = CadreRepository(session).add(Cadre(**data.model_dump()))
    await session.flush()
    await change_log.record(
        session,
        principal,
        action="create",
        entity="cadre",
        entity_id=cadre.id,
        region_code=cadre.region_code,
        new=data.model_dump(),
    )
    return cadre


async def pair_households(
    session: AsyncSession, principal: Principal, cadre_id: UUID, data: PairingCreate
) -> PairingResult:
    """Make the cadre responsible for these households; pairs that exist are left as they are."""
    household_service.ensure_can_write(principal)
    cadre = await get_cadre(session, principal, cadre_id)
    households = [
        await household_service.get_household(session, principal, h)
        for h in dict.fromkeys(data.household_ids)
    ]
    repo = CadreRepository(session)
    paired = await repo.pair(cadre, [(h.id, h.region_code) for h in households])
    for household in households:
        if household.id in paired:
            await change_log.record(
                session,
                principal,
                action="pair",
                entity="cadre_household",
                entity_id=cadre.id,
                household_id=household.id,
                region_code=household.region_code,
                new={"cadre_id": cadre.id, "cadre": cadre.name},
            )
    return PairingResult(
        cadre_id=cadre.id,
        paired=paired,
        already_paired=[h.id for h in households if h.id not in paired],
        total_households=await repo.count_pairs(cadre.id),
    )
