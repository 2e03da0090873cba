"""Public notices (公告公示): a project's plan before approval, its results before
acceptance; an asset's disposal or income distribution. Notices are public: anyone may list
them for a region without signing in."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.notices.models import Notice
from services.funds.notices.repository import NoticeRepository
from services.funds.notices.schemas import NoticeCreate, NoticeRead, NoticeSubject
from services.funds.policy.repository import PolicyRepository
from services.funds.projects import service as project_service
from shared import clock, pii, regions
from shared.auth import Principal, Role, resolve_region_filter
from shared.errors import ValidationFailed
from shared.i18n import t
from shared.repository import Audit

POSTERS = (Role.province_admin, Role.county_officer, Role.township_officer, Role.village_cadre)


async def _subject_region(
    session: AsyncSession, principal: Principal, body: NoticeCreate
) -> tuple[str, int]:
    if body.subject_type is NoticeSubject.project:
        project = await project_service.get_project(session, principal, body.subject_id)
        return project.region_code, project.fiscal_year
    from services.funds.assets import service as asset_service  # assets import projects

    asset = await asset_service.get_asset(session, principal, body.subject_id)
    return asset.region_code, body.starts_on.year


def refuse_personal_data(field: str, text: str) -> None:
    """A notice is posted in villages and online: it shows no ID number or phone number
    (domain.md section 3). 422 naming the field and what was found, never the data itself."""
    found = pii.personal_data_in(text)
    if found:
        raise ValidationFailed.field(
            field,
            t(
                "a public notice may not show personal data (found: {found}); "
                "leave out ID and phone numbers",
                "notice.personal_data",
                found=", ".join(found),
            ),
        )


async def create_notice(
    session: AsyncSession, principal: Principal, body: NoticeCreate
) -> NoticeRead:
    principal.ensure_role(*POSTERS)
    refuse_personal_data("content", body.content)
    region_code, year = await _subject_region(session, principal, body)
    # A notice counts only for the days it really ran: a backdated one would let a plan be
    # approved the day its notice is posted.
    posted_on = clock.today()
    if body.starts_on < posted_on:
        raise ValidationFailed.field(
            "starts_on",
            t(
                "a notice cannot start before the day it is posted ({posted_on})",
                "notice.backdated",
                posted_on=posted_on,
            ),
        )
    policy = await PolicyRepository(session).in_force(region_code, year)
    days = (body.ends_on - body.starts_on).days + 1
    if days < policy.notice_days:
        raise ValidationFailed.field(
            "ends_on",
            t(
                "a notice lasts at least {min_days} days (this one {days})",
                "notice.too_short",
                min_days=policy.notice_days,
                days=days,
            ),
        )
    notice = await NoticeRepository(session).create(
        Notice(
            subject_type=body.subject_type.value,
            subject_id=body.subject_id,
            purpose=body.purpose.value,
            region_code=region_code,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            content=body.content,
            created_by=principal.sub,
        ),
        audit=Audit(principal, "publish", new=body.model_dump()),
    )
    return NoticeRead.model_validate(notice)


async def list_notices(
    session: AsyncSession,
    principal: Principal | None,
    region: str | None,
    active: bool,
    cursor: str | None,
    limit: int,
) -> tuple[list[Notice], str | None]:
    """The public board of a region. Anyone may read one region's board; a signed-in caller's
    list is scoped like every list (never wider than their region, 404 outside it)."""
    if principal is not None:
        region = region or principal.region_code
        prefix = resolve_region_filter(principal, region)
    elif region is None:
        raise ValidationFailed.field(
            "region", t("is required without sign-in", "notice.region_required")
        )
    else:
        if not regions.is_valid_code(region):
            raise ValidationFailed.field(
                "region", t("must be a 12-digit region code", "region.invalid")
            )
        prefix = regions.prefix_of(region)
    ancestors: list[str] = []
    parent = regions.parent_of(region)
    while parent is not None:
        ancestors.append(parent)
        parent = regions.parent_of(parent)
    repo = NoticeRepository(session)
    stmt = repo.public(prefix, ancestors, clock.today() if active else None)
    return await repo.paginate(stmt, [Notice.created_at, Notice.id], cursor, limit)
