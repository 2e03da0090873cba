"""Assets formed by projects (扶贫项目资产): the ledger (台账), income, its distribution, disposal.
- Income is append-only, one entry per asset and period.
- A distribution shares out exactly one income entry and adds up to it to the fen; the
  income row is locked while it is checked, and ``distributions.income_id`` is unique, so
  an income is never distributed twice.
- Disposal of an asset only after approval: request (township or county) -> approve or
  reject (county officer or province admin, never the requesting account) -> complete;
  completing without an approval is refused."""

import asyncio
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds import webhooks as webhook_hub
from services.funds.assets.models import Asset, AssetIncome, Distribution
from services.funds.assets.repository import (
    AssetRepository,
    DistributionRepository,
    IncomeRepository,
)
from services.funds.assets.schemas import (
    AssetCreate,
    AssetKind,
    AssetRead,
    AssetStatus,
    DisposalAction,
    DisposalRequest,
    DistributionCreate,
    DistributionRead,
    IncomeCreate,
    IncomeRead,
    OwnerType,
    RecipientType,
    ShareRead,
)
from services.funds.deps import regions_above
from services.funds.projects import service as project_service
from services.funds.projects.schemas import ProjectStatus
from shared import regions
from shared.auth import Principal, Role
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from shared.i18n import t
from shared.money import format_amount, split_by_weights
from shared.registry_client import RegistryClient
from shared.repository import Audit

KEEPERS = (Role.province_admin, Role.county_officer, Role.township_officer)
REQUESTER_MAY_NOT_APPROVE = t(
    "the account that requested a disposal cannot approve it: a second county account must "
    "(不相容职务分离)",
    "asset.disposal_same_account",
)
# A disposal step's event: ``asset.<op>``.
DISPOSAL_EVENTS = {
    DisposalAction.request: "disposal_requested",
    DisposalAction.approve: "disposal_approved",
    DisposalAction.reject: "disposal_rejected",
    DisposalAction.complete: "disposed",
}
ASSET_FORMING = (ProjectStatus.completed, ProjectStatus.accepted)
# action -> (from status, to status, roles)
DISPOSAL: dict[DisposalAction, tuple[AssetStatus, AssetStatus, tuple[Role, ...]]] = {
    DisposalAction.request: (
        AssetStatus.active,
        AssetStatus.disposal_requested,
        (Role.township_officer, Role.county_officer),
    ),
    DisposalAction.approve: (
        AssetStatus.disposal_requested,
        AssetStatus.disposal_approved,
        (Role.county_officer, Role.province_admin),
    ),
    DisposalAction.reject: (
        AssetStatus.disposal_requested,
        AssetStatus.active,
        (Role.county_officer, Role.province_admin),
    ),
    DisposalAction.complete: (
        AssetStatus.disposal_approved,
        AssetStatus.disposed,
        (Role.township_officer, Role.county_officer),
    ),
}


async def get_asset(
    session: AsyncSession, principal: Principal, asset_id: UUID, *, for_update: bool = False
) -> Asset:
    return await AssetRepository(session).get_visible(asset_id, principal, for_update=for_update)


async def _household_in(registry: RegistryClient, household_id: UUID, county: str) -> str | None:
    """The household's village if the registry knows it inside ``county``, else None."""
    try:
        household = await registry.get_household(household_id)
    except NotFound:
        return None
    village = household.region_code
    return village if regions.contains(county, village) else None


async def create_asset(
    session: AsyncSession, principal: Principal, registry: RegistryClient, body: AssetCreate
) -> AssetRead:
    principal.ensure_role(*KEEPERS)
    project = await project_service.get_project(session, principal, body.project_id)
    if ProjectStatus(project.status) not in ASSET_FORMING:
        raise Conflict(
            t(
                "a {status} project has formed no assets yet",
                "asset.project_not_finished",
                status=project.status,
            )
        )
    county = project.region_code
    region_code = body.region_code
    if region_code is not None and not regions.is_valid_code(region_code):
        raise ValidationFailed.field(
            "region_code", t("must be a 12-digit region code", "region.invalid")
        )
    if body.owner_type is OwnerType.household:
        try:
            household_id = UUID(body.owner_id)
        except ValueError:
            raise ValidationFailed.field(
                "owner_id", t("must be a household id", "asset.owner_invalid")
            ) from None
        village = await _household_in(registry, household_id, county)
        if village is None:
            raise ValidationFailed.field(
                "owner_id", project_service.household_outside(household_id, county)
            )
        region_code = region_code or village
    elif body.owner_type is OwnerType.village_collective:
        if not regions.is_valid_code(body.owner_id) or not regions.contains(county, body.owner_id):
            raise ValidationFailed.field(
                "owner_id",
                t(
                    "must be a village code in county {county}",
                    "asset.owner_not_village",
                    county=county,
                ),
            )
        region_code = region_code or body.owner_id
    region_code = region_code or county
    if not regions.contains(county, region_code):
        raise ValidationFailed.field(
            "region_code",
            t("must lie in the project's county {county}", "asset.outside_county", county=county),
        )
    principal.ensure_covers(region_code, "region")
    repo = AssetRepository(session)
    asset = await repo.create(
        Asset(
            project_id=project.id,
            region_code=region_code,
            kind=body.kind.value,
            name=body.name,
            value=body.value,
            owner_type=body.owner_type.value,
            owner_id=body.owner_id,
            custodian=body.custodian,
            location=body.location,
            status=AssetStatus.active.value,
            created_by=principal.sub,
        ),
        audit=Audit(principal, "register", new=body.model_dump()),
    )
    read = AssetRead.model_validate(asset)
    await webhook_hub.state_event(session, "asset.created", read, asset.region_code)
    return read


async def list_assets(
    session: AsyncSession,
    principal: Principal,
    prefix: str,
    kind: AssetKind | None,
    status: AssetStatus | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Asset], str | None]:
    # The ledger of the region asked for, and what regions above the caller hold (a
    # county's public-welfare asset), as ``get_asset`` shows them.
    repo = AssetRepository(session)
    stmt = repo.ledger(
        prefix,
        regions_above(principal),
        kind.value if kind else None,
        status.value if status else None,
    )
    return await repo.paginate(stmt, [Asset.created_at, Asset.id], cursor, limit)


async def add_income(
    session: AsyncSession, principal: Principal, asset_id: UUID, body: IncomeCreate
) -> IncomeRead:
    principal.ensure_role(*KEEPERS)
    asset = await get_asset(session, principal, asset_id, for_update=True)
    principal.ensure_covers(asset.region_code, "asset")
    if asset.kind != AssetKind.operating.value:
        raise Conflict(t("only operating assets (经营性资产) record income", "asset.not_operating"))
    if asset.status == AssetStatus.disposed.value:
        raise Conflict(t("the asset has been disposed of", "asset.disposed"))
    repo = IncomeRepository(session)
    if await repo.by_period(asset.id, body.period) is not None:
        raise Conflict(
            t(
                "income for {period} is already recorded",
                "asset.income_duplicate",
                period=body.period,
            )
        )
    income = await repo.create(
        AssetIncome(
            asset_id=asset.id,
            region_code=asset.region_code,
            period=body.period,
            amount=body.amount,
            created_by=principal.sub,
        ),
        audit=Audit(principal, "income", entity_id=asset.id, new=body.model_dump()),
    )
    read = _income_read(income, distributed=False)
    await webhook_hub.state_event(session, "income.created", read, asset.region_code)
    return read


async def list_income(
    session: AsyncSession, principal: Principal, asset_id: UUID
) -> list[IncomeRead]:
    asset = await get_asset(session, principal, asset_id)
    rows = await IncomeRepository(session).of_asset(asset.id)
    return [_income_read(income, distributed=done) for income, done in rows]


def _income_read(income: AssetIncome, *, distributed: bool) -> IncomeRead:
    """An income entry as GET lists it; the ledger row is never changed, so its version is
    1 as recorded and 2 once distributed."""
    read = IncomeRead.model_validate(income)
    return read.model_copy(update={"distributed": distributed, "version": 2 if distributed else 1})


async def distribute(
    session: AsyncSession,
    principal: Principal,
    registry: RegistryClient,
    asset_id: UUID,
    body: DistributionCreate,
) -> DistributionRead:
    principal.ensure_role(*KEEPERS)
    asset = await get_asset(session, principal, asset_id)
    principal.ensure_covers(asset.region_code, "asset")
    income = await IncomeRepository(session).get(body.income_id, for_update=True)
    if income is None or income.asset_id != asset.id:
        raise ValidationFailed.field(
            "income_id", t("is not an income entry of this asset", "asset.income_unknown")
        )
    repo = DistributionRepository(session)
    if await repo.of_income(income.id) is not None:
        raise Conflict(
            t(
                "the income of {period} has already been distributed",
                "asset.income_distributed",
                period=income.period,
            )
        )
    amounts, method = _amounts(income, body)
    await _check_households(registry, body, regions.county_of(asset.region_code))
    distribution = await repo.create(
        Distribution(
            asset_id=asset.id,
            income_id=income.id,
            region_code=asset.region_code,
            method=method,
            note=body.note,
            created_by=principal.sub,
        )
    )
    await repo.add_shares(
        [
            {
                "distribution_id": distribution.id,
                "position": index,
                "asset_id": asset.id,
                "region_code": asset.region_code,
                "recipient_type": share.recipient_type.value,
                "household_id": share.household_id,
                "label": share.label,
                "weight": share.weight,
                "amount": amount,
            }
            for index, (share, amount) in enumerate(zip(body.shares, amounts, strict=True))
        ]
    )
    await repo.record(
        distribution,
        Audit(
            principal,
            "distribute",
            entity_id=asset.id,
            new={"income_id": income.id, "method": method, "amounts": amounts},
        ),
    )
    # The income entry now shows itself distributed: its second version, and both events.
    distributed = _income_read(income, distributed=True)
    await webhook_hub.state_event(session, "income.distributed", distributed, asset.region_code)
    read = await read_distribution(session, distribution, income.amount)
    await webhook_hub.state_event(session, "distribution.created", read, asset.region_code)
    return read


def _amounts(income: AssetIncome, body: DistributionCreate) -> tuple[list[Decimal], str]:
    if body.shares[0].weight is not None:
        weights = [s.weight for s in body.shares]
        return split_by_weights(income.amount, weights), "weights"  # type: ignore[arg-type]
    amounts: list[Decimal] = [s.amount for s in body.shares]  # type: ignore[misc]
    total = sum(amounts, Decimal("0.00"))
    if total != income.amount:
        raise ValidationFailed.field(
            "shares",
            t(
                "the shares add up to {total}, the income is {income}",
                "distribution.shares_mismatch",
                total=format_amount(total),
                income=format_amount(income.amount),
            ),
        )
    return amounts, "amounts"


async def _check_households(
    registry: RegistryClient, body: DistributionCreate, county: str
) -> None:
    wanted = [
        (i, s.household_id)
        for i, s in enumerate(body.shares)
        # (the schema gives household shares, and only those, a household_id)
        if s.recipient_type is RecipientType.household and s.household_id is not None
    ]
    semaphore = asyncio.Semaphore(10)

    async def check(household_id: Any) -> str | None:
        async with semaphore:
            return await _household_in(registry, household_id, county)

    villages = await asyncio.gather(*(check(h) for _, h in wanted))
    errors = [
        FieldError(
            field=f"shares.{i}.household_id",
            message=project_service.household_outside(h, county),
        )
        for (i, h), village in zip(wanted, villages, strict=True)
        if village is None
    ]
    if errors:
        raise ValidationFailed(
            project_service.listed(errors), code="household.outside_county", errors=errors
        )


async def get_distribution(
    session: AsyncSession, principal: Principal, asset_id: UUID, distribution_id: UUID
) -> DistributionRead:
    repo = DistributionRepository(session)
    distribution = await repo.get_visible(distribution_id, principal)
    income = await IncomeRepository(session).get(distribution.income_id)
    if distribution.asset_id != asset_id or income is None:
        raise NotFound(repo.not_found)
    return await read_distribution(session, distribution, income.amount)


async def read_distribution(
    session: AsyncSession, distribution: Distribution, total: Decimal
) -> DistributionRead:
    shares = await DistributionRepository(session).shares(distribution.id)
    return DistributionRead(
        id=distribution.id,
        asset_id=distribution.asset_id,
        income_id=distribution.income_id,
        method=distribution.method,
        note=distribution.note,
        total=total,
        shares=[ShareRead.model_validate(s) for s in shares],
        version=distribution.version,
        created_at=distribution.created_at,
    )


async def dispose(
    session: AsyncSession, principal: Principal, asset_id: UUID, body: DisposalRequest
) -> AssetRead:
    asset = await get_asset(session, principal, asset_id, for_update=True)
    principal.ensure_covers(asset.region_code, "asset")
    source, target, roles = DISPOSAL[body.action]
    principal.ensure_role(*roles)
    if asset.status != source.value:
        if body.action is DisposalAction.complete:
            raise Conflict(
                t(
                    "disposal without the county's approval is refused (资产处置须经审批)",
                    "asset.disposal_unapproved",
                ),
                status=asset.status,
            )
        raise Conflict(
            t(
                "an asset in status {status} cannot take disposal action {action}",
                "asset.disposal_wrong_status",
                status=asset.status,
                action=body.action.value,
            ),
            status=asset.status,
        )
    if body.action is DisposalAction.approve and asset.disposal_requested_by == principal.sub:
        raise Forbidden(REQUESTER_MAY_NOT_APPROVE)
    old = {"status": asset.status}
    if body.action is DisposalAction.request:
        asset.disposal_method = body.method.value if body.method else None
        asset.disposal_reason = body.reason
        asset.disposal_requested_by = principal.sub
        asset.disposal_approved_by = None
    elif body.action is DisposalAction.approve:
        asset.disposal_approved_by = principal.sub
    elif body.action is DisposalAction.complete:
        asset.disposal_proceeds = body.proceeds
        asset.disposed_on = body.disposed_on
    asset.status = target.value
    repo = AssetRepository(session)
    await repo.flush()
    await repo.record(
        asset,
        Audit(
            principal,
            f"disposal_{body.action.value}",
            old=old,
            # Both accounts of a kept-apart step: who requested the disposal, who decided it.
            new={"status": asset.status, "requested_by": asset.disposal_requested_by}
            | body.model_dump(exclude_none=True),
        ),
    )
    await repo.refresh(asset)
    read = AssetRead.model_validate(asset)
    await webhook_hub.state_event(
        session, f"asset.{DISPOSAL_EVENTS[body.action]}", read, asset.region_code
    )
    return read
