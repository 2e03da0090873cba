"""The funds policy (资金政策参数) per region and year: the province sets it, a county may
override it; a row stays in force until a later year's row replaces it."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.deps import ensure_sees
from services.funds.policy.models import PAYMENT_CONFIRMATION_THRESHOLD, FundsPolicy
from services.funds.policy.repository import PolicyRepository
from services.funds.policy.schemas import FundsPolicyFields, FundsPolicyRead
from shared import regions
from shared.auth import Principal, Role
from shared.errors import ValidationFailed
from shared.i18n import t
from shared.money import format_amount
from shared.repository import Audit


def _region(principal: Principal, region: str | None) -> str:
    code = region or principal.region_code
    if not regions.is_valid_code(code):
        raise ValidationFailed.field(
            "region", t("must be a 12-digit region code", "region.invalid")
        )
    return code


async def get_policy(
    session: AsyncSession, principal: Principal, region: str | None, year: int
) -> FundsPolicyRead:
    code = _region(principal, region)
    ensure_sees(principal, code, "region")  # a county reads the province's policy too
    return FundsPolicyRead.model_validate(await PolicyRepository(session).in_force(code, year))


async def put_policy(
    session: AsyncSession,
    principal: Principal,
    region: str | None,
    year: int,
    body: FundsPolicyFields,
) -> FundsPolicyRead:
    principal.ensure_role(Role.province_admin, Role.county_officer)
    code = _region(principal, region)
    principal.ensure_covers(code, "region")
    if regions.level_of(code) not in (regions.RegionLevel.province, regions.RegionLevel.county):
        raise ValidationFailed.field(
            "region", t("a policy is set for the province or a county", "policy.wrong_level")
        )
    repo = PolicyRepository(session)
    threshold = body.payment_confirmation_threshold
    if regions.level_of(code) is regions.RegionLevel.county:
        # The threshold keeps recording and confirming a payment apart: a county may lower
        # it, never raise it above the province's and so pay large sums alone.
        province = await repo.in_force(
            regions.ancestor_at(code, regions.RegionLevel.province), year
        )
        if threshold is None:
            threshold = province.payment_confirmation_threshold
        elif threshold > province.payment_confirmation_threshold:
            raise ValidationFailed.field(
                "payment_confirmation_threshold",
                t(
                    "a county may not set it above the province's {threshold}",
                    "policy.threshold_above_province",
                    threshold=format_amount(province.payment_confirmation_threshold),
                ),
            )
    if threshold is None:
        threshold = PAYMENT_CONFIRMATION_THRESHOLD
    fields = body.model_dump() | {"payment_confirmation_threshold": threshold}
    row = await repo.of_year(code, year, for_update=True)
    old = FundsPolicyFields.model_validate(row).model_dump() if row else None
    if row is None:
        row = repo.add(FundsPolicy(region_code=code, year=year, **fields))
    else:
        for field, value in fields.items():
            setattr(row, field, value)
    await repo.flush()
    await repo.record(
        row, Audit(principal, "set_policy", old=old, new=fields, entity_id=f"{code}:{year}")
    )
    return FundsPolicyRead.model_validate(row)
