"""Self-declarations (防贫申报): no login, rate-limited, one open case per household."""

import logging
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.cases import service as case_service
from services.monitoring.cases.repository import CaseRepository
from services.monitoring.cases.schemas import Channel
from services.monitoring.declarations.models import Declaration
from services.monitoring.declarations.schemas import DeclarationCreate
from shared import ratelimit
from shared.auth import Principal, Role
from shared.errors import NotFound, ValidationFailed
from shared.registry_client import RegistryClient, RegistryUnavailable

log = logging.getLogger(__name__)

PER_PHONE_PER_HOUR = 5
PER_ADDRESS_PER_HOUR = 30
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I

# Who the audit trail names for an anonymous declaration.
PUBLIC = Principal(sub="public:declaration", role=Role.service, region_code="520000000000")


def _tracking_code() -> str:
    return "FP" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


async def check_rate(redis: object, namespace: str, phone: str, address: str) -> None:
    await ratelimit.hit(
        redis, f"{namespace}:declare:phone:{phone}", limit=PER_PHONE_PER_HOUR, window_s=3600
    )
    await ratelimit.hit(
        redis, f"{namespace}:declare:addr:{address}", limit=PER_ADDRESS_PER_HOUR, window_s=3600
    )


async def _check_village(registry: RegistryClient, village_code: str) -> None:
    """A declarant the projection does not know is placed by the village they name, so that
    village must be one the registry knows. When the registry cannot answer, the declaration is
    kept all the same: a household in difficulty is not turned away because a server is down."""
    try:
        known = await registry.region_exists(village_code)
    except RegistryUnavailable:
        log.warning("registry unreachable; declaration for %s accepted unchecked", village_code)
        return
    if not known:
        raise ValidationFailed.field("village_code", "no such village in the registry")


async def declare(
    session: AsyncSession, registry: RegistryClient, body: DeclarationCreate
) -> Declaration:
    repo = CaseRepository(session)
    person = await repo.person(body.id_number)
    if person is None:
        await _check_village(registry, body.village_code)
    household_id = person.household_id if person else None
    region = person.region_code if person else body.village_code
    # Dedup: a person whose household already has an open case joins it.
    case = (
        await repo.open_for_household(household_id)
        if household_id
        else await repo.open_for_declarant(body.id_number)
    )
    code = _tracking_code()
    if case is None:
        case = await case_service.create_case(
            session,
            PUBLIC,
            household_id=household_id,
            region_code=region,
            channel=Channel.declaration,
            declaration_code=code,
            note=f"{body.reason}: {body.description}"[:2000],
        )
    declaration = Declaration(
        tracking_code=code,
        region_code=region,
        name=body.name,
        id_number=body.id_number,
        phone=body.phone,
        reason=body.reason,
        description=body.description,
        household_id=household_id,
        case_id=case.id,
    )
    session.add(declaration)
    await session.flush()
    return declaration


async def status(session: AsyncSession, tracking_code: str) -> str:
    row = (
        await session.execute(
            select(Declaration.case_id).where(Declaration.tracking_code == tracking_code.upper())
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("no declaration with this tracking code")
    case = await CaseRepository(session).get(row)
    return case.stage if case else "discovered"
