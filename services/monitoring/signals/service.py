"""Department signals (部门预警信息): kept whether or not they match anyone yet."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.database import change_log
from services.monitoring.signals import kinds
from services.monitoring.signals.repository import SignalRepository
from services.monitoring.signals.schemas import SignalBatch, SignalBatchResult, SignalResult
from shared.auth import Principal, Role
from shared.i18n import EN, Message

SIGNAL_ROLES = (Role.department, Role.service, Role.county_officer, Role.province_admin)


async def receive(
    session: AsyncSession, principal: Principal, batch: SignalBatch, locale: str = EN
) -> SignalBatchResult:
    """Store the batch's signals; an item of a kind its source does not report is answered
    ``rejected`` with the reason (a department that misspells a kind hears of it, instead of
    a signal no rule ever reads), and the rest of the batch is received."""
    principal.ensure_role(*SIGNAL_ROLES)
    rows = [item.model_dump(mode="json") for item in batch.items]
    refusals: dict[int, Message] = {}
    for index, row in enumerate(rows):
        if (why := kinds.unknown_kind(row["source"], row["kind"])) is not None:
            refusals[index] = why
    accepted = [row for index, row in enumerate(rows) if index not in refusals]
    repo = SignalRepository(session)
    created: set[tuple[str, str]] = set()
    stored = {}
    if accepted:
        created = await repo.insert_batch(
            accepted, principal.region_prefix, principal.region_code, principal.sub
        )
        stored = await repo.lookup(
            [{"source": r["source"], "external_ref": r["external_ref"]} for r in accepted],
            principal.region_prefix,
        )
    items = []
    for index, row in enumerate(rows):
        if (why := refusals.get(index)) is not None:
            items.append(
                SignalResult(
                    external_ref=row["external_ref"],
                    source=row["source"],
                    id=None,
                    status="rejected",
                    matched=False,
                    household_id=None,
                    reason=why.render(locale),
                    code=why.code,
                )
            )
            continue
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
    if accepted:
        await change_log.record(
            session,
            principal,
            action="signals.receive",
            entity="signal_batch",
            entity_id=next(i.id for i in items if i.id is not None),
            region_code=principal.region_code,
            new={"received": len(accepted), "created": len(created), "rejected": len(refusals)},
        )
    return SignalBatchResult(
        items=items,
        created=len(created),
        duplicates=len(accepted) - len(created),
        unmatched=sum(1 for i in items if i.status != "rejected" and not i.matched),
        rejected=len(refusals),
    )
