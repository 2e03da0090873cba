"""Offline batches in the registry (入户核查离线同步): a cadre's queued changes to households,
members, yearly economics and guarantee checks, each applied through the same service as
its single request (same rules, scope, masking and change log), in order."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.database import BatchItemAnswer, ChangeLogEntry
from services.registry.economics import service as economics_service
from services.registry.economics.schemas import EconomicsInput
from services.registry.guarantees import service as guarantee_service
from services.registry.guarantees.schemas import GuaranteesInput
from services.registry.households import members as member_service
from services.registry.households import service as household_service
from services.registry.households.models import Household, Member
from services.registry.households.schemas import (
    HouseholdCreate,
    HouseholdUpdate,
    MemberCreate,
    MemberDeparture,
    MemberUpdate,
)
from shared.auth import Principal
from shared.batches import runner
from shared.batches.repository import BatchRepository
from shared.batches.runner import Applied, conflicts, parse, refuse
from shared.batches.schemas import BatchAnswer, BatchItem, BatchRequest
from shared.errors import PreconditionFailed
from shared.i18n import t

ItemHandler = Callable[[AsyncSession, Principal, BatchItem, BatchRepository], Awaitable[Applied]]


async def run_batch(
    session: AsyncSession, principal: Principal, request: BatchRequest, locale: str
) -> BatchAnswer:
    household_service.ensure_can_write(principal)
    repo = BatchRepository(session, BatchItemAnswer, ChangeLogEntry)
    for entity, model in (("household", Household), ("member", Member)):
        ids = {i.id for i in request.items if (i.entity, i.op) == (entity, "patch") and i.id}
        await repo.prefetch_versions(entity, model, ids)
    return await runner.run(session, principal, request, _handle, repo, locale)


async def _handle(
    session: AsyncSession, principal: Principal, item: BatchItem, repo: BatchRepository
) -> Applied:
    handler = HANDLERS.get((item.entity, item.op))
    if handler is None:
        raise refuse(
            "op",
            t(
                "{entity} does not take op {op}; known: {known}",
                "batch.unknown_op",
                entity=item.entity,
                op=item.op,
                known=", ".join(f"{e}/{o}" for e, o in HANDLERS),
            ),
        )
    return await handler(session, principal, item, repo)


def _required(item: BatchItem, name: str) -> UUID:
    value = getattr(item, name)
    if value is None:
        raise refuse(name, t("{name} is required for this op", "batch.field_required", name=name))
    assert isinstance(value, UUID)
    return value


def _unchanged(repo: BatchRepository, item: BatchItem, entity: str, entity_id: UUID) -> bool:
    """The phone saw the version read when the batch began: no conflict to look for, and
    the write need not read the record first (it checks ``base_version`` as an If-Match)."""
    known = repo.versions.get((entity, entity_id))
    return known is not None and known == item.base_version


async def _household_create(
    session: AsyncSession, principal: Principal, item: BatchItem, repo: BatchRepository
) -> Applied:
    data = parse(HouseholdCreate, item.data)
    household = await household_service.create_household(session, principal, data)
    return Applied(household.id, household.version, created=True)


async def _household_patch(
    session: AsyncSession, principal: Principal, item: BatchItem, repo: BatchRepository
) -> Applied:
    data = parse(HouseholdUpdate, item.data)
    return await _patch(
        session,
        principal,
        item,
        repo,
        "household",
        data,
        household_service.get_household,
        household_service.update_household,
    )


async def _member_create(
    session: AsyncSession, principal: Principal, item: BatchItem, repo: BatchRepository
) -> Applied:
    data = parse(MemberCreate, item.data)
    hid = _required(item, "household_id")
    member = await member_service.add_member(session, principal, hid, data)
    return Applied(member.id, member.version, created=True)


async def _member_patch(
    session: AsyncSession, principal: Principal, item: BatchItem, repo: BatchRepository
) -> Applied:
    data = parse(MemberUpdate, item.data)
    return await _patch(
        session,
        principal,
        item,
        repo,
        "member",
        data,
        member_service.get_member,
        member_service.update_member,
    )


async def _patch(
    session: AsyncSession,
    principal: Principal,
    item: BatchItem,
    repo: BatchRepository,
    entity: str,
    data: HouseholdUpdate | MemberUpdate,
    read: Any,
    update: Any,
) -> Applied:
    """A change of a household or member: written at once when the phone saw the version
    the batch began with, else compared with what changed since (soft or hard conflict)."""
    rid = _required(item, "id")
    if _unchanged(repo, item, entity, rid):
        try:  # the update checks the version under its row lock
            changed = await update(session, principal, rid, str(item.base_version), data)
            return Applied(changed.id, changed.version)
        except PreconditionFailed:
            pass  # changed since the batch began: compare as below
    current = await read(session, principal, rid)
    soft = await conflicts(
        repo, item, entity, rid, str(rid), current.version, data.model_fields_set
    )
    changed = await update(session, principal, rid, str(current.version), data)
    return Applied(changed.id, changed.version, soft_fields=soft)


async def _member_depart(
    session: AsyncSession, principal: Principal, item: BatchItem, repo: BatchRepository
) -> Applied:
    data = parse(MemberDeparture, item.data)
    mid = _required(item, "id")
    current = await member_service.get_member(session, principal, mid)
    touched = {"departed_on", "departure_reason"}
    soft = await conflicts(repo, item, "member", mid, str(mid), current.version, touched)
    member = await member_service.depart_member(session, principal, mid, data)
    return Applied(member.id, member.version, soft_fields=soft)


class _Year(BaseModel):
    model_config = ConfigDict(extra="allow")

    year: int


async def _economics(
    session: AsyncSession, principal: Principal, item: BatchItem, repo: BatchRepository
) -> Applied:
    """One household-year (``data.year`` and the figures): ``create`` puts it as
    ``PUT /v1/households/{id}/economics/{year}`` does; ``patch`` changes the figures sent
    on top of the stored year, from ``base_version``."""
    hid = item.household_id or _required(item, "id")
    year = parse(_Year, item.data).year
    figures = {k: v for k, v in item.data.items() if k != "year"}
    soft: list[str] | None = None
    if item.op == "patch":
        row = await economics_service.get_year(session, principal, hid, year)
        stored = {name: getattr(row, name) for name in EconomicsInput.model_fields}
        log_id = f"{hid}:{year}"
        soft = await conflicts(repo, item, "economics", hid, log_id, row.version, set(figures))
        figures = {**stored, **figures}
    data = parse(EconomicsInput, figures)
    if_match = None if item.op == "create" else str(row.version)
    saved = await economics_service.put_year(session, principal, hid, year, data, if_match)
    return Applied(hid, saved.version, created=item.op == "create", soft_fields=soft)


async def _guarantees(
    session: AsyncSession, principal: Principal, item: BatchItem, repo: BatchRepository
) -> Applied:
    """Guarantee checks are appended, never overwritten (the latest is the status): no
    version, so no conflict."""
    hid = item.household_id or _required(item, "id")
    data = parse(GuaranteesInput, item.data)
    await guarantee_service.write_checks(session, principal, hid, data)
    return Applied(hid, None)


HANDLERS: dict[tuple[str, str], ItemHandler] = {
    ("household", "create"): _household_create,
    ("household", "patch"): _household_patch,
    ("member", "create"): _member_create,
    ("member", "patch"): _member_patch,
    ("member", "depart"): _member_depart,
    ("economics", "create"): _economics,
    ("economics", "patch"): _economics,
    ("guarantees", "create"): _guarantees,
    ("guarantees", "patch"): _guarantees,
}


def describe() -> dict[str, Any]:
    return {"ops": [f"{entity}/{op}" for entity, op in HANDLERS]}
