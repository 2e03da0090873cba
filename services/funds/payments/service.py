"""Payments on a project (资金支付): append-only entries; a correction is a reversal that
names the entry it reverses. The project row and then the fund row are locked (``SELECT ...
FOR UPDATE``) while a payment is checked and written, so concurrent payments never take the
net paid past the budget, nor concurrent payments and allocations take the county's spending
past what it holds of the fund. A payment above the policy's threshold counts as paid only
once a second county account confirmed it (不相容职务分离)."""

from decimal import Decimal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds import webhooks as webhook_hub
from services.funds.funding import service as fund_service
from services.funds.payments.models import Payment, PaymentConfirmation
from services.funds.payments.repository import PaymentRepository
from services.funds.payments.schemas import PaymentCreate, PaymentRead, PaymentStatus
from services.funds.policy.repository import PolicyRepository
from services.funds.projects import service as project_service
from services.funds.projects.models import Project
from services.funds.projects.repository import ProjectRepository
from services.funds.projects.schemas import ProjectStatus
from shared.auth import Principal, Role
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.i18n import t
from shared.money import format_amount
from shared.repository import Audit
from shared.settings import province_code

ZERO = Decimal("0.00")
PAYERS = (Role.province_admin, Role.county_officer)
CONFIRMERS = (Role.province_admin, Role.county_officer)
RECORDER_MAY_NOT_CONFIRM = t(
    "the account that recorded a payment cannot confirm it: a second county account must "
    "(不相容职务分离)",
    "payment.confirmation_same_account",
)
PAYABLE = (ProjectStatus.approved, ProjectStatus.in_progress, ProjectStatus.completed)


async def add_payment(
    session: AsyncSession, principal: Principal, project_id: UUID, body: PaymentCreate
) -> PaymentRead:
    principal.ensure_role(*PAYERS)
    project = await project_service.get_project(session, principal, project_id, for_update=True)
    principal.ensure_covers(project.region_code, "project")
    payments = PaymentRepository(session)
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
        payment = await _payment(session, project, body)
        policy = await PolicyRepository(session).in_force(project.region_code, project.fiscal_year)
        payment.needs_confirmation = payment.amount > policy.payment_confirmation_threshold
    payment.created_by = principal.sub
    await payments.create(payment)
    await payments.record(
        payment,
        Audit(
            principal,
            "reverse" if payment.reverses_id else "pay",
            household_id=payment.household_id,
            new=read_payment(principal, payment, None).model_dump(),
        ),
    )
    confirmed_by = None
    if payment.reverses_id is not None:
        confirmed_by = (await payments.confirmations([payment.reverses_id])).get(
            payment.reverses_id
        )
    await webhook_hub.payment_event(
        session, read_payment(_county(), payment, confirmed_by), project.region_code
    )
    await project_service.touch_project(session, project)
    await fund_service.touch_fund_of(session, payment.fund_id)
    return read_payment(principal, payment, confirmed_by)


async def _payment(session: AsyncSession, project: Project, body: PaymentCreate) -> Payment:
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
    repo = ProjectRepository(session)
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
    paid = (await PaymentRepository(session).booked_by_project([project.id])).get(project.id, ZERO)
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


# Whom a payment's published state is read as: the county, who sees payees (the feed and
# webhooks null them for readers who see no names).
def _county() -> Principal:
    return Principal(sub="system", role=Role.service, region_code=province_code())


def shows_payee(principal: Principal) -> bool:
    """Payees are people (a household's 一卡通 holder) or firms; departments see no names."""
    return principal.sees_names


def read_payment(principal: Principal, payment: Payment, confirmed_by: str | None) -> PaymentRead:
    """The entry as ``principal`` may see it; ``confirmed_by`` is the confirmation of the
    payment (of the payment it reverses, for a reversal)."""
    counts = not payment.needs_confirmation or confirmed_by is not None
    # The ledger row never changes: a confirmation (of this entry, not of the one a reversal
    # reverses, which came before it) is its second version.
    confirmed = payment.needs_confirmation and payment.reverses_id is None and confirmed_by
    read = PaymentRead.model_validate(payment).model_copy(
        update={
            "status": PaymentStatus.paid if counts else PaymentStatus.awaiting_confirmation,
            "confirmed_by": confirmed_by if payment.needs_confirmation else None,
            "version": 2 if confirmed else 1,
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
    project = await project_service.get_project(session, principal, project_id)
    payments = PaymentRepository(session)
    below = project_service.below_county(principal)
    stmt = payments.of_project(project.id, households_in=principal.region_prefix if below else None)
    rows, next_cursor = await payments.paginate(stmt, [Payment.seq], cursor, limit)
    confirmed = await payments.confirmations(
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
    project = await project_service.get_project(session, principal, project_id, for_update=True)
    principal.ensure_covers(project.region_code, "project")
    payments = PaymentRepository(session)
    payment = await payments.get_visible(payment_id, principal)
    if payment.project_id != project.id:
        raise NotFound(PaymentRepository.not_found)
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
    await payments.record(
        payment,
        Audit(
            principal,
            "confirm",
            household_id=payment.household_id,
            new={
                "amount": payment.amount,
                "recorded_by": payment.created_by,
                "confirmed_by": principal.sub,
            },
        ),
    )
    await webhook_hub.payment_event(
        session,
        read_payment(_county(), payment, principal.sub),
        project.region_code,
        "payment.confirmed",
    )
    await project_service.touch_project(session, project)
    await fund_service.touch_fund_of(session, payment.fund_id)
    return read_payment(principal, payment, principal.sub)
