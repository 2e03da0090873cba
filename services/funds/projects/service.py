"""The project library (项目库): projects follow plans, funds follow projects.

Lifecycle proposed -> approved -> in_progress -> completed -> accepted (验收), or cancelled.
Approval needs a finished plan notice and acceptance a finished results notice, each at least
the policy's ``notice_days`` long (三公示一公告). Payments are append-only entries; the
project row and then the fund row are locked (``SELECT ... FOR UPDATE``) while one is checked
and written, so concurrent payments never take the net paid past the budget, nor concurrent
payments and allocations take the county's spending past what it holds of the fund."""

import asyncio
from decimal import Decimal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.database import audit
from services.funds.deps import ensure_sees
from services.funds.funding import service as fund_service
from services.funds.policy import repository as policy_repository
from services.funds.projects.models import Payment, PaymentConfirmation, Project, ProjectEvent
from services.funds.projects.repository import PaymentRepository, ProjectRepository
from services.funds.projects.schemas import (
    PaymentCreate,
    PaymentRead,
    PaymentStatus,
    ProjectAction,
    ProjectActionRequest,
    ProjectCreate,
    ProjectRead,
    ProjectStatus,
)
from services.funds.webhooks import hub as webhook_hub
from shared import clock, regions
from shared.auth import Principal, Role
from shared.contracts.registry import HouseholdRef
from shared.db import utcnow
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from shared.i18n import Message, t
from shared.money import format_amount
from shared.pagination import paginate
from shared.registry_client import RegistryClient

ZERO = Decimal("0.00")
PROPOSERS = (Role.province_admin, Role.county_officer, Role.township_officer, Role.village_cadre)
PAYERS = (Role.province_admin, Role.county_officer)
CONFIRMERS = (Role.province_admin, Role.county_officer)
# Duties kept apart (不相容职务分离, domain.md section 8).
PROPOSER_MAY_NOT_APPROVE = t(
    "the account that proposed a project cannot approve it: a second county account must "
    "(不相容职务分离)",
    "project.approval_same_account",
)
RECORDER_MAY_NOT_CONFIRM = t(
    "the account that recorded a payment cannot confirm it: a second county account must "
    "(不相容职务分离)",
    "payment.confirmation_same_account",
)

# action -> (statuses it leaves from, status it leads to, roles that may take it)
TRANSITIONS: dict[
    ProjectAction, tuple[tuple[ProjectStatus, ...], ProjectStatus, tuple[Role, ...]]
] = {
    ProjectAction.approve: (
        (ProjectStatus.proposed,),
        ProjectStatus.approved,
        (Role.county_officer, Role.province_admin),
    ),
    ProjectAction.start: (
        (ProjectStatus.approved,),
        ProjectStatus.in_progress,
        (Role.township_officer, Role.county_officer),
    ),
    ProjectAction.complete: (
        (ProjectStatus.in_progress,),
        ProjectStatus.completed,
        (Role.township_officer, Role.county_officer),
    ),
    ProjectAction.accept: (
        (ProjectStatus.completed,),
        ProjectStatus.accepted,
        (Role.county_officer, Role.province_admin),
    ),
    ProjectAction.cancel: (
        (ProjectStatus.proposed, ProjectStatus.approved, ProjectStatus.in_progress),
        ProjectStatus.cancelled,
        (Role.county_officer, Role.province_admin),
    ),
}
PAYABLE = (ProjectStatus.approved, ProjectStatus.in_progress, ProjectStatus.completed)


def below_county(principal: Principal) -> bool:
    """A township officer or village cadre: county projects are theirs to see, but of the
    households a project reaches only those of their own region."""
    county = regions.level_rank(regions.RegionLevel.county)
    return regions.level_rank(regions.level_of(principal.region_code)) > county


async def read_projects(
    session: AsyncSession, principal: Principal, projects: list[Project]
) -> list[ProjectRead]:
    repo = ProjectRepository(session)
    ids = [p.id for p in projects]
    households_in = principal.region_prefix if below_county(principal) else None
    fund_ids, beneficiaries, paid, booked = (
        await repo.fund_ids(ids),
        await repo.beneficiary_ids(ids, households_in),
        await repo.paid(ids),
        await repo.booked(ids),
    )
    return [
        ProjectRead(
            id=p.id,
            name=p.name,
            county_code=p.region_code,
            kind=p.kind,
            fiscal_year=p.fiscal_year,
            budget=p.budget,
            paid=paid.get(p.id, ZERO),
            awaiting_confirmation=booked.get(p.id, ZERO) - paid.get(p.id, ZERO),
            remaining=p.budget - booked.get(p.id, ZERO),
            status=p.status,
            status_changed_at=p.status_changed_at,
            fund_ids=fund_ids.get(p.id, []),
            beneficiary_household_ids=beneficiaries.get(p.id, []),
            version=p.version,
            created_at=p.created_at,
        )
        for p in projects
    ]


async def get_project(
    session: AsyncSession, principal: Principal, project_id: UUID, *, for_update: bool = False
) -> Project:
    project = await ProjectRepository(session).get(project_id, for_update=for_update)
    if project is None:
        raise NotFound(t("project not found", "project.not_found"))
    ensure_sees(principal, project.region_code, "project")
    return project


def household_outside(household_id: UUID, county_code: str) -> str:
    """The message for a household the registry does not hold in ``county_code``: the same
    for one that does not exist and one in another county."""
    return t(
        "household {household_id} is not in the registry in county {county}",
        "household.outside_county",
        household_id=household_id,
        county=county_code,
    )


def listed(errors: list[FieldError]) -> Message:
    """The field errors' messages as one detail, each shown in the reader's language."""
    return Message(
        "; ".join(f"{{m{i}}}" for i in range(len(errors))),
        **{f"m{i}": e._message or e.message for i, e in enumerate(errors)},
    )


async def _check_households(
    registry: RegistryClient, household_ids: list[UUID], county_code: str
) -> dict[UUID, str]:
    """Each household must be in the registry and in the project's county; 422 names the
    ones that are not. Returns each household's village."""
    semaphore = asyncio.Semaphore(10)

    async def fetch(household_id: UUID) -> HouseholdRef | None:
        async with semaphore:
            try:
                return await registry.get_household(household_id)
            except NotFound:
                return None

    found = await asyncio.gather(*(fetch(h) for h in household_ids))
    errors: list[FieldError] = []
    villages: dict[UUID, str] = {}
    for index, (household_id, household) in enumerate(zip(household_ids, found, strict=True)):
        # One message whether the household is missing or elsewhere: an answer must not
        # confirm that a household exists in another county.
        if household is None or not regions.contains(county_code, household.region_code):
            errors.append(
                FieldError(
                    field=f"beneficiary_household_ids.{index}",
                    message=household_outside(household_id, county_code),
                )
            )
        else:
            villages[household_id] = household.region_code
    if errors:
        raise ValidationFailed(listed(errors), code="household.outside_county", errors=errors)
    return villages


async def create_project(
    session: AsyncSession, principal: Principal, registry: RegistryClient, body: ProjectCreate
) -> ProjectRead:
    principal.ensure_role(*PROPOSERS)
    # The shape of the code first (``000000000000`` passes the schema's pattern), then scope.
    if (
        not regions.is_valid_code(body.county_code)
        or regions.level_of(body.county_code) != regions.RegionLevel.county
    ):
        raise ValidationFailed.field(
            "county_code", t("must be a county-level region code", "county_code.invalid")
        )
    ensure_sees(principal, body.county_code, "county")
    fund_ids = list(dict.fromkeys(body.fund_ids))
    repo = ProjectRepository(session)
    funds = await repo.funds_reaching(fund_ids, body.county_code)
    missing = [str(f) for f in fund_ids if f not in funds]
    if missing:
        raise ValidationFailed(
            t(
                "funds not allocated to county {county}: {funds}",
                "fund.not_allocated",
                county=body.county_code,
                funds=", ".join(missing),
            ),
            errors=[
                FieldError(
                    field=f"fund_ids.{fund_ids.index(UUID(m))}",
                    message=t("not allocated to this county", "fund.not_allocated"),
                )
                for m in missing
            ],
        )
    household_ids = list(dict.fromkeys(body.beneficiary_household_ids))
    villages = await _check_households(registry, household_ids, body.county_code)
    project = repo.add(
        Project(
            region_code=body.county_code,
            name=body.name,
            kind=body.kind.value,
            fiscal_year=body.fiscal_year or funds[fund_ids[0]].fiscal_year,
            budget=body.budget,
            status=ProjectStatus.proposed.value,
            created_by=principal.sub,
        )
    )
    await repo.flush()
    await session.refresh(project)
    await repo.link(project, fund_ids, villages)
    await audit.record(
        session,
        principal,
        action="create",
        entity="project",
        entity_id=project.id,
        region_code=project.region_code,
        new=body.model_dump(),
    )
    await webhook_hub.project_event(session, "create", project)
    return (await read_projects(session, principal, [project]))[0]


async def act(
    session: AsyncSession, principal: Principal, project_id: UUID, body: ProjectActionRequest
) -> ProjectRead:
    project = await get_project(session, principal, project_id, for_update=True)
    sources, target, roles = TRANSITIONS[body.action]
    principal.ensure_role(*roles)
    current = ProjectStatus(project.status)
    if current not in sources:
        allowed = [a.value for a, (s, _, _) in TRANSITIONS.items() if current in s]
        raise Conflict(
            t(
                "a {status} project cannot be {action}d; allowed: {allowed}",
                "project.wrong_status",
                status=current.value,
                action=body.action.value,
                allowed=", ".join(allowed) or t("none"),
            ),
            allowed_actions=allowed,
        )
    if body.action is ProjectAction.approve and project.created_by == principal.sub:
        raise Forbidden(PROPOSER_MAY_NOT_APPROVE)
    repo = ProjectRepository(session)
    notice_id = None
    if body.action in (ProjectAction.approve, ProjectAction.accept):
        policy = await policy_repository.in_force(session, project.region_code, project.fiscal_year)
        purpose = "plan" if body.action is ProjectAction.approve else "results"
        not_before = (
            project.status_changed_at.astimezone(clock.CHINA).date()
            if body.action is ProjectAction.accept
            else None
        )
        notice = await repo.finished_notice(
            project.id, purpose, policy.notice_days, clock.today(), not_before
        )
        if notice is None:
            raise Conflict(
                t(
                    "no finished {purpose} notice (公示) of at least {days} days: post one "
                    "(POST /v1/notices, purpose {purpose}) and wait until it ends",
                    "project.notice_missing",
                    purpose=purpose,
                    days=policy.notice_days,
                ),
                missing_notice=purpose,
                notice_days=policy.notice_days,
            )
        notice_id = notice.id
    if body.action is ProjectAction.cancel:
        paid = (await repo.booked([project.id])).get(project.id, ZERO)
        if paid != ZERO:
            raise Conflict(
                t(
                    "{paid} has been paid on this project; reverse the payments first",
                    "project.has_payments",
                    paid=format_amount(paid),
                )
            )
    old = {"status": project.status}
    repo.add_event(
        ProjectEvent(
            project_id=project.id,
            region_code=project.region_code,
            action=body.action.value,
            from_status=project.status,
            to_status=target.value,
            note=body.note,
            notice_id=notice_id,
            actor=principal.sub,
        )
    )
    project.status = target.value
    project.status_changed_at = utcnow()
    await repo.flush()
    await audit.record(
        session,
        principal,
        action=body.action.value,
        entity="project",
        entity_id=project.id,
        region_code=project.region_code,
        old=old,
        # Both accounts of a kept-apart step: who proposed the project, who approved it.
        new={"status": project.status, "note": body.note}
        | ({"proposed_by": project.created_by} if body.action is ProjectAction.approve else {}),
    )
    await webhook_hub.project_event(session, body.action.value, project)
    return (await read_projects(session, principal, [project]))[0]


async def list_projects(
    session: AsyncSession,
    principal: Principal,
    prefix: str,
    status: ProjectStatus | None,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ProjectRead], str | None]:
    # Projects sit at county level: a caller below a county lists their county's projects.
    county_prefix = prefix[: regions.PREFIX_LENGTH[regions.RegionLevel.county]]
    stmt = ProjectRepository(session).listing(county_prefix, status.value if status else None, kind)
    rows, next_cursor = await paginate(
        session, stmt, [Project.created_at, Project.id], cursor, limit
    )
    return await read_projects(session, principal, rows), next_cursor


async def add_payment(
    session: AsyncSession, principal: Principal, project_id: UUID, body: PaymentCreate
) -> PaymentRead:
    principal.ensure_role(*PAYERS)
    project = await get_project(session, principal, project_id, for_update=True)
    principal.ensure_covers(project.region_code, "project")
    repo, payments = ProjectRepository(session), PaymentRepository(session)
    if await payments.voucher_taken(project.id, body.voucher_no):
        raise Conflict(
            t(
                "voucher {voucher_no} is already recorded on this project",
                "payment.duplicate_voucher",
                voucher_no=body.voucher_no,
            )
        )
    if body.reverses is not None:
        payment = await _reversal(payments, project, body)
    else:
        payment = await _payment(session, repo, project, body)
        policy = await policy_repository.in_force(session, project.region_code, project.fiscal_year)
        payment.needs_confirmation = payment.amount > policy.payment_confirmation_threshold
    payment.created_by = principal.sub
    payments.add(payment)
    await payments.flush()
    await session.refresh(payment)
    await audit.record(
        session,
        principal,
        action="reverse" if payment.reverses_id else "pay",
        entity="payment",
        entity_id=payment.id,
        region_code=project.region_code,
        household_id=payment.household_id,
        new=read_payment(principal, payment, None).model_dump(),
    )
    confirmed_by = None
    if payment.reverses_id is not None:
        confirmed_by = (await payments.confirmations([payment.reverses_id])).get(
            payment.reverses_id
        )
    read = read_payment(principal, payment, confirmed_by)
    await webhook_hub.payment_event(session, read.model_dump(), project.region_code)
    return read


async def _payment(
    session: AsyncSession, repo: ProjectRepository, project: Project, body: PaymentCreate
) -> Payment:
    assert body.amount is not None
    assert body.payee is not None
    if ProjectStatus(project.status) not in PAYABLE:
        raise Conflict(
            t(
                "a {status} project cannot be paid; payments need an approved, in-progress or "
                "completed project",
                "payment.project_not_payable",
                status=project.status,
            )
        )
    fund_ids = (await repo.fund_ids([project.id])).get(project.id, [])
    fund_id = body.fund_id
    if fund_id is None:
        if len(fund_ids) != 1:
            raise ValidationFailed.field(
                "fund_id", t("the project has several funds: name one", "payment.fund_required")
            )
        fund_id = fund_ids[0]
    elif fund_id not in fund_ids:
        raise ValidationFailed.field(
            "fund_id", t("is not one of the project's funds", "payment.fund_not_of_project")
        )
    if body.household_id is not None and not await repo.is_beneficiary(
        project.id, body.household_id
    ):
        raise ValidationFailed.field(
            "household_id", t("is not a beneficiary of this project", "payment.not_beneficiary")
        )
    # Entries awaiting confirmation reserve their money too.
    paid = (await repo.booked([project.id])).get(project.id, ZERO)
    remaining = project.budget - paid
    if body.amount > remaining:
        raise Conflict(
            t(
                "payment of {amount} exceeds the budget's remaining {remaining}",
                "payment.over_budget",
                amount=format_amount(body.amount),
                remaining=format_amount(remaining),
            ),
            remaining=format_amount(remaining),
        )
    # Lock order project -> fund; allocations lock only the fund, so no cycle.
    fund = await fund_service.lock_fund(session, fund_id)
    available = await fund_service.available(session, fund, project.region_code)
    if body.amount > available:
        raise Conflict(
            t(
                "payment of {amount} exceeds what {region} holds of fund {document_no}: "
                "received less allocated onward and paid ({available} available)",
                "fund.exceeded",
                amount=format_amount(body.amount),
                region=project.region_code,
                document_no=fund.document_no,
                available=format_amount(available),
            ),
            available=format_amount(max(available, ZERO)),
        )
    return Payment(
        project_id=project.id,
        fund_id=fund_id,
        region_code=project.region_code,
        amount=body.amount,
        payee=body.payee,
        voucher_no=body.voucher_no,
        paid_on=body.paid_on,
        household_id=body.household_id,
    )


async def _reversal(payments: PaymentRepository, project: Project, body: PaymentCreate) -> Payment:
    assert body.reverses is not None
    original = await payments.get(body.reverses)
    if original is None or original.project_id != project.id:
        raise ValidationFailed.field(
            "reverses", t("is not a payment of this project", "payment.reversal_unknown")
        )
    if original.reverses_id is not None:
        raise ValidationFailed.field(
            "reverses",
            t("is itself a reversal; record a new payment", "payment.reversal_of_reversal"),
        )
    if body.amount is not None and body.amount != original.amount:
        raise ValidationFailed.field(
            "amount", t("a reversal reverses the whole payment", "payment.reversal_partial")
        )
    if await payments.reversal_of(original.id) is not None:
        raise Conflict(t("this payment has already been reversed", "payment.already_reversed"))
    return Payment(
        project_id=project.id,
        fund_id=original.fund_id,
        region_code=project.region_code,
        amount=-original.amount,
        payee=body.payee or original.payee,
        voucher_no=body.voucher_no,
        paid_on=body.paid_on,
        household_id=original.household_id,
        reverses_id=original.id,
        # A reversal counts exactly when the payment it reverses does.
        needs_confirmation=original.needs_confirmation,
    )


def shows_payee(principal: Principal) -> bool:
    """Payees are people (a household's 一卡通 holder) or firms; departments see no names."""
    return principal.sees_names


def read_payment(principal: Principal, payment: Payment, confirmed_by: str | None) -> PaymentRead:
    """The entry as ``principal`` may see it; ``confirmed_by`` is the confirmation of the
    payment (of the payment it reverses, for a reversal)."""
    counts = not payment.needs_confirmation or confirmed_by is not None
    read = PaymentRead.model_validate(payment).model_copy(
        update={
            "status": PaymentStatus.paid if counts else PaymentStatus.awaiting_confirmation,
            "confirmed_by": confirmed_by if payment.needs_confirmation else None,
        }
    )
    if shows_payee(principal):
        return read
    return read.model_copy(update={"payee": None, "created_by": None, "confirmed_by": None})


async def list_payments(
    session: AsyncSession, principal: Principal, project_id: UUID, cursor: str | None, limit: int
) -> tuple[list[PaymentRead], str | None]:
    """A project's entries. The project is the county's, but a caller below the county (a
    township, a village cadre) sees only the payments to households of their own region:
    what the county paid another village's household is not theirs to see."""
    project = await get_project(session, principal, project_id)
    stmt = PaymentRepository(session).of_project(
        project.id, households_in=principal.region_prefix if below_county(principal) else None
    )
    rows, next_cursor = await paginate(session, stmt, [Payment.seq], cursor, limit)
    confirmed = await PaymentRepository(session).confirmations(
        [r.reverses_id or r.id for r in rows if r.needs_confirmation]
    )
    return [
        read_payment(principal, r, confirmed.get(r.reverses_id or r.id)) for r in rows
    ], next_cursor


async def confirm_payment(
    session: AsyncSession, principal: Principal, project_id: UUID, payment_id: UUID
) -> PaymentRead:
    """The second account's confirmation of a payment above the policy's threshold: only
    then does it count as paid. Its recorder cannot confirm it."""
    principal.ensure_role(*CONFIRMERS)
    project = await get_project(session, principal, project_id, for_update=True)
    principal.ensure_covers(project.region_code, "project")
    payments = PaymentRepository(session)
    payment = await payments.get(payment_id)
    if payment is None or payment.project_id != project.id:
        raise NotFound(t("payment not found", "payment.not_found"))
    if not payment.needs_confirmation or payment.reverses_id is not None:
        raise Conflict(
            t(
                "this entry needs no confirmation: it counts as recorded",
                "payment.no_confirmation_needed",
            )
        )
    if await payments.confirmations([payment.id]):
        raise Conflict(t("this payment has already been confirmed", "payment.already_confirmed"))
    if await payments.reversal_of(payment.id) is not None:
        raise Conflict(
            t("this payment has been reversed: there is nothing to confirm", "payment.reversed")
        )
    if payment.created_by == principal.sub:
        raise Forbidden(RECORDER_MAY_NOT_CONFIRM)
    payments.add_confirmation(
        PaymentConfirmation(
            payment_id=payment.id,
            project_id=project.id,
            region_code=project.region_code,
            confirmed_by=principal.sub,
        )
    )
    await payments.flush()
    await audit.record(
        session,
        principal,
        action="confirm",
        entity="payment",
        entity_id=payment.id,
        region_code=project.region_code,
        household_id=payment.household_id,
        new={
            "amount": payment.amount,
            "recorded_by": payment.created_by,
            "confirmed_by": principal.sub,
        },
    )
    return read_payment(principal, payment, principal.sub)
