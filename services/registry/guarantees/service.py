"""The "two no-worries, three guarantees" and drinking water (两不愁三保障及饮水安全).
Checks are appended, never overwritten: the latest per kind is the status, the rest history."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.changes.service import publish
from services.registry.guarantees.models import GUARANTEE_KINDS, GuaranteeCheck
from services.registry.guarantees.repository import GuaranteeRepository
from services.registry.guarantees.schemas import GuaranteeCheckRead, GuaranteesInput, GuaranteesRead
from services.registry.households import service as household_service
from shared.auth import Principal
from shared.contracts.registry import ChangeEntity, ChangeOp, GuaranteeSnapshot
from shared.errors import ValidationFailed
from shared.i18n import t


async def record_checks(
    session: AsyncSession, principal: Principal, household_id: UUID, data: GuaranteesInput
) -> GuaranteesRead:
    await write_checks(session, principal, household_id, data)
    return await read_checks(session, principal, household_id)


async def write_checks(
    session: AsyncSession, principal: Principal, household_id: UUID, data: GuaranteesInput
) -> None:
    """``record_checks`` without reading the history back (an offline batch answers only
    that the checks were written)."""
    household_service.ensure_can_write(principal)
    household = await household_service.get_household(
        session, principal, household_id, members=False
    )
    given = {
        kind: status for kind in GUARANTEE_KINDS if (status := getattr(data, kind)) is not None
    }
    if not given:
        raise ValidationFailed.field(
            "body",
            t(
                "send at least one of {kinds}",
                "guarantee.nothing_sent",
                kinds=", ".join(GUARANTEE_KINDS),
            ),
        )
    repo = GuaranteeRepository(session)
    for kind, status in given.items():
        check = repo.add(
            GuaranteeCheck(
                household_id=household.id,
                region_code=household.region_code,
                kind=kind,
                ok=status.ok,
                checked_on=status.checked_on,
                note=status.note,
                recorded_by=principal.sub,
            )
        )
        snapshot = GuaranteeSnapshot(
            household_id=household.id,
            region_code=household.region_code,
            kind=kind,
            ok=status.ok,
            checked_on=status.checked_on,
            note=status.note,
        )
        await repo.flush()
        await publish(
            session,
            principal,
            entity=ChangeEntity.guarantee,
            entity_id=f"{household.id}:{kind}",
            household_id=household.id,
            region_code=household.region_code,
            op=ChangeOp.update,
            data=snapshot,
            action="check",
            # One entry per check: the audit view names the check it records.
            new={**snapshot.model_dump(mode="json"), "check_id": str(check.id)},
        )


async def read_checks(
    session: AsyncSession, principal: Principal, household_id: UUID
) -> GuaranteesRead:
    household = await household_service.get_household(session, principal, household_id)
    history = [
        GuaranteeCheckRead.model_validate(c)
        for c in await GuaranteeRepository(session).history(household.id)
    ]
    current: dict[str, GuaranteeCheckRead] = {}
    for check in history:  # newest first
        current.setdefault(check.kind, check)
    all_ok = len(current) == len(GUARANTEE_KINDS) and all(c.ok for c in current.values())
    return GuaranteesRead(current=current, all_ok=all_ok, history=history)
