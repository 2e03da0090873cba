"""The project library (项目库): projects follow plans, funds follow projects.

Lifecycle proposed -> approved -> in_progress -> completed -> accepted (验收), or cancelled.
Approval needs a finished plan notice and acceptance a finished results notice, each at least
the policy's ``notice_days`` long (三公示一公告). Payments on a project are the payments
module's."""

import asyncio
from decimal import Decimal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from services.funds import webhooks as webhook_hub
from services.funds.deps import ensure_sees
from services.funds.notices.repository import NoticeRepository
from services.funds.payments.repository import PaymentRepository
from services.funds.policy.repository import PolicyRepository
from services.funds.projects.models import Project, ProjectEvent
from services.funds.projects.repository import ProjectRepository
from services.funds.projects.schemas import (
    ProjectAction,
    ProjectActionRequest,
    ProjectCreate,
    ProjectRead,
    ProjectStatus,
)
from shared import clock, regions
from shared.auth import Principal, Role
from shared.contracts.registry import HouseholdRef
from shared.db import utcnow
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from shared.i18n import Message, t
from shared.money import format_amount
from shared.registry_client import RegistryClient
from shared.repository import Audit
from shared.settings import province_code

ZERO = Decimal("0.00")
PROPOSERS = (Role.province_admin, Role.county_officer, Role.township_officer, Role.village_cadre)
# Duties kept apart (不相容职务分离, domain.md section 8).
PROPOSER_MAY_NOT_APPROVE = t(
    "the account that proposed a project cannot approve it: a second county account must "
    "(不相容职务分离)",
    "project.approval_same_account",
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


def below_county(principal: Principal) -> bool:
    """A township officer or village cadre: county projects are theirs to see, but of the
    households a project reaches only those of their own region."""
    county = regions.level_rank(regions.RegionLevel.county)
    return regions.level_rank(regions.level_of(principal.region_code)) > county


async def read_projects(
    session: AsyncSession, principal: Principal, projects: list[Project]
) -> list[ProjectRead]:
    repo, payments = ProjectRepository(session), PaymentRepository(session)
    ids = [p.id for p in projects]
    households_in = principal.region_prefix if below_county(principal) else None
    fund_ids, beneficiaries, paid, booked = (
        await repo.fund_ids(ids),
        await repo.beneficiary_ids(ids, households_in),
        await payments.paid_by_project(ids),
        await payments.booked_by_project(ids),
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


# Whom a project's published state is read as: the whole county (every beneficiary).
def _whole_county() -> Principal:
    return Principal(sub="system", role=Role.service, region_code=province_code())


async def publish_project(session: AsyncSession, action: str, project: Project) -> None:
    """The project's event: its whole state after the change, as GET shows it to the county
    (called after the flush that set its version)."""
    (state,) = await read_projects(session, _whole_county(), [project])
    await webhook_hub.project_event(session, action, state)


async def touch_project(session: AsyncSession, project: Project) -> None:
    """A payment changed what the project shows (paid, remaining): a new version of it, and
    its event (so its feed and its ETag follow)."""
    flag_modified(project, "status")
    await session.flush()
    await publish_project(session, "update", project)


async def get_project(
    session: AsyncSession, principal: Principal, project_id: UUID, *, for_update: bool = False
) -> Project:
    return await ProjectRepository(session).get_visible(
        project_id, principal, for_update=for_update
    )


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
    project = await repo.create(
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
    await repo.link(project, fund_ids, villages)
    await repo.record(project, Audit(principal, "create", new=body.model_dump()))
    await publish_project(session, "create", project)
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
        policy = await PolicyRepository(session).in_force(project.region_code, project.fiscal_year)
        purpose = "plan" if body.action is ProjectAction.approve else "results"
        not_before = (
            project.status_changed_at.astimezone(clock.CHINA).date()
            if body.action is ProjectAction.accept
            else None
        )
        notice = await NoticeRepository(session).finished(
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
        paid = (await PaymentRepository(session).booked_by_project([project.id])).get(
            project.id, ZERO
        )
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
    await repo.record(
        project,
        Audit(
            principal,
            body.action.value,
            old=old,
            # Both accounts of a kept-apart step: who proposed the project, who approved it.
            new={"status": project.status, "note": body.note}
            | ({"proposed_by": project.created_by} if body.action is ProjectAction.approve else {}),
        ),
    )
    await publish_project(session, body.action.value, project)
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
    repo = ProjectRepository(session)
    stmt = repo.listing(county_prefix, status.value if status else None, kind)
    rows, next_cursor = await repo.paginate(stmt, [Project.created_at, Project.id], cursor, limit)
    return await read_projects(session, principal, rows), next_cursor
