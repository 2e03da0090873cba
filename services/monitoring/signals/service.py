"""Department signals (部门预警信息): kept whether or not they match anyone yet."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.database import audit
from services.monitoring.signals.repository import SignalRepository
from services.monitoring.signals.schemas import SignalBatch, SignalBatchResult, SignalResult
from shared.auth import Principal, Role

SIGNAL_ROLES = (Role.department, Role.service, Role.county_officer, Role.province_admin)


async def receive(
    session: AsyncSession, principal: Principal, batch: SignalBatch
) -> SignalBatchResult:
    principal.ensure_role(*SIGNAL_ROLES)
    rows = [item.model_dump(mode="json") for item in batch.items]
    repo = SignalRepository(session)
    created = await repo.insert_batch(
        rows, principal.region_prefix, principal.region_code, principal.sub
    )
    stored = await repo.lookup(
        [{"source": r["source"], "external_ref": r["external_ref"]} for r in rows],
        principal.region_prefix,
    )
    items = []
    for row in rows:
        key = (row["source"], row["external_ref"])
        signal = stored[key]
        items.append(
            SignalResult(
                external_ref=row["external_ref"],
                source=row["source"],
                id=signal.id,
                status="created" if key in created else "duplicate",
                matched=signal.household_id is not None,
                household_id=signal.household_id,
            )
        )
    await audit.record(
        session,
        principal,
        action="signals.receive",
        entity="signal_batch",
        entity_id=items[0].id,
        region_code=principal.region_code,
        new={"received": len(rows), "created": len(created)},
    )
    return SignalBatchResult(
        items=items,
        created=len(created),
        duplicates=len(rows) - len(created),
        unmatched=sum(1 for i in items if not i.matched),
    )
