"""Self-declarations (防贫申报): no login, rate-limited, reviewed by officials.

The public page must not be an oracle on the registry: a declaration is received as sent and
answers the same for anyone (a tracking code), registered or not, real village or not. Only
officials match it to a household, check the village and accept it into a case or dismiss it;
its tracking code shows the declaration's own progress, never a case's stage.

Each declaration's state is an event of monitoring's feed (``declaration.received``, then
one per review step, its ``version`` one more each time), as an official of its county reads
it in ``GET /v1/declarations``; the feed shows each reader its own masking, and none to
departments, who read no declarations."""

import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.cases import service as case_service
from services.monitoring.cases.repository import CaseRepository
from services.monitoring.cases.schemas import Channel
from services.monitoring.database import DECLARATION_READERS
from services.monitoring.declarations.models import Declaration
from services.monitoring.declarations.repository import DeclarationRepository
from services.monitoring.declarations.schemas import (
    DeclarationAction,
    DeclarationActionRequest,
    DeclarationCreate,
    DeclarationRead,
    DeclarationStage,
)
from services.monitoring.webhooks import DECLARATION_OPS, declaration_event
from shared import pii, ratelimit, regions
from shared.auth import Principal, Role
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.i18n import t
from shared.registry_client import RegistryClient, RegistryUnavailable
from shared.settings import Settings

log = logging.getLogger(__name__)

# Buckets per sender address, and per phone and per ID number *from that address*: one sender
# fills only their own. No bucket is shared by a village or a county, nor by everyone who
# types one person's ID or phone number, so nobody can close the channel for someone else (a
# flood for a neighbour's ID number stops the flooder's address, never the neighbour's).
PER_ADDRESS_PER_HOUR = 30
PER_PHONE_PER_HOUR = 5
PER_ID_NUMBER_PER_HOUR = 5
LOOKUPS_PER_ADDRESS_PER_HOUR = 300
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols, no 0/O, 1/I: 5 bits each
_CODE_SYMBOLS = 16  # 80 random bits: not guessable at any rate the lookups allow

REVIEW_ROLES = (
    Role.village_cadre,
    Role.township_officer,
    Role.county_officer,
    Role.province_admin,
)
READ_ROLES = DECLARATION_READERS
_OPEN = (DeclarationStage.received.value, DeclarationStage.under_review.value)
NOT_FOUND = t("declaration not found", "declaration.not_found")


# Free text a declarant typed, with any ID number or phone number in it masked as a list
# masks them (and the rest of their words, full-width punctuation included, as written).
masked_text = pii.masked_text


def _tracking_code() -> str:
    return "FP" + "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_SYMBOLS))


def _bucket(settings: Settings, kind: str, value: str) -> str:
    """A rate-limit key that does not put a phone or ID number into Redis in clear."""
    digest = hmac.new(settings.secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()
    return f"{settings.queue_name}:declare:{kind}:{digest[:32]}"


async def check_rate(
    redis: object, settings: Settings, body: DeclarationCreate, address: str
) -> None:
    """429 past a limit; 503 when Redis cannot count (a public route never runs unlimited)."""
    for kind, value, limit in (
        ("addr", address, PER_ADDRESS_PER_HOUR),
        ("phone", f"{body.phone}|{address}", PER_PHONE_PER_HOUR),
        ("id", f"{body.id_number}|{address}", PER_ID_NUMBER_PER_HOUR),
    ):
        await ratelimit.hit(
            redis,
            _bucket(settings, kind, value),
            limit=limit,
            window_s=3600,
            on_redis_down=ratelimit.OnRedisDown.refuse,
        )


async def check_lookup_rate(redis: object, settings: Settings, address: str) -> None:
    await ratelimit.hit(
        redis,
        _bucket(settings, "lookup", address),
        limit=LOOKUPS_PER_ADDRESS_PER_HOUR,
        window_s=3600,
        on_redis_down=ratelimit.OnRedisDown.refuse,
    )


async def submit(
    session: AsyncSession, redis: object, settings: Settings, body: DeclarationCreate, address: str
) -> Declaration:
    """The one way a declaration comes in, from the API and from the page alike: counted
    against the sender's limits first, then kept as sent."""
    await check_rate(redis, settings, body, address)
    return await declare(session, body)


async def declare(session: AsyncSession, body: DeclarationCreate) -> Declaration:
    """Keep the declaration as sent. Nothing here reads the registry, and the answer never
    depends on who is registered where; its event (the state an official of the county
    reads) looks the ID number up in the projection by its index, the same one-row probe
    whether or not anybody is found."""
    declaration = DeclarationRepository(session).add(
        Declaration(
            tracking_code=_tracking_code(),
            region_code=body.village_code,
            name=body.name,
            id_number=body.id_number,
            phone=body.phone,
            reason=body.reason,
            description=body.description,
            status=DeclarationStage.received.value,
            review_note="",
            version=1,
        )
    )
    await session.flush()
    await session.refresh(declaration, ["created_at"])
    await _publish(session, None, "declaration.receive", "received", declaration)
    return declaration


def _county_official(declaration: Declaration) -> Principal:
    """Whom a declaration's events show it as: an official of the county of the village it
    names (GET shows each reader the household its ID number matches inside the reader's
    own region: the county's, for the officials who review it)."""
    county = regions.county_of(declaration.region_code)
    return Principal(sub="system", role=Role.county_officer, region_code=county)


async def _publish(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    op: str,
    declaration: Declaration,
    old: dict[str, Any] | None = None,
) -> None:
    (read,) = await reads(session, _county_official(declaration), [declaration])
    await declaration_event(session, principal, action, op, read, old)


async def status(session: AsyncSession, tracking_code: str) -> DeclarationStage:
    declaration = await DeclarationRepository(session).by_tracking_code(tracking_code.upper())
    if declaration is None:
        raise NotFound(t("no declaration with this tracking code", "declaration.not_found"))
    return DeclarationStage(declaration.status)


def list_query(session: AsyncSession, principal: Principal, prefix: str, status: str | None) -> Any:
    principal.ensure_role(*READ_ROLES)
    return DeclarationRepository(session).visible_query(prefix, status)


async def reads(
    session: AsyncSession, principal: Principal, rows: list[Declaration]
) -> list[DeclarationRead]:
    """Declarations as ``principal`` may see them: ID numbers masked below the county, and the
    matching household only when it lies inside their region."""
    repo = DeclarationRepository(session)
    matches = await repo.households_in(sorted({d.id_number for d in rows}), principal.region_prefix)
    case_regions = await repo.case_regions([d.case_id for d in rows if d.case_id is not None])

    def own_case(d: Declaration) -> bool:
        return d.case_id is not None and principal.covers(case_regions.get(d.case_id, "-"))

    return [
        DeclarationRead(
            id=d.id,
            region_code=d.region_code,
            name=d.name if principal.sees_names else None,
            id_number=principal.show_id_number(d.id_number),
            phone=d.phone,
            # Free text may name anyone's ID or phone number: masked below the county.
            reason=pii.shown_text(d.reason, principal.sees_full_id_numbers),
            description=pii.shown_text(d.description, principal.sees_full_id_numbers),
            status=DeclarationStage(d.status),
            household_id=d.household_id if own_case(d) else matches.get(d.id_number),
            case_id=d.case_id if own_case(d) else None,
            created_at=d.created_at,
            reviewed_by=d.reviewed_by,
            reviewed_at=d.reviewed_at,
            review_note=pii.shown_text(d.review_note, principal.sees_full_id_numbers),
            version=d.version,
        )
        for d in rows
    ]


async def _check_village(registry: RegistryClient, village_code: str) -> None:
    """Accepting a declarant the registry does not know places the case in the village they
    named, so it must be one the registry knows. When the registry cannot answer the official
    decides all the same: a household in difficulty is not turned away because a server is
    down."""
    try:
        known = await registry.region_exists(village_code)
    except RegistryUnavailable:
        log.warning("registry unreachable; declaration for %s accepted unchecked", village_code)
        return
    if not known:
        raise ValidationFailed.field(
            "village_code", t("no such village in the registry", "village.not_found")
        )


async def _accept(
    session: AsyncSession,
    principal: Principal,
    declaration: Declaration,
    req: DeclarationActionRequest,
    registry: RegistryClient,
) -> None:
    cases = CaseRepository(session)
    household_id: UUID | None
    if req.household_id is not None:
        household = await cases.household(req.household_id)
        if household is None or not principal.covers(household.region_code):
            raise NotFound(case_service.HOUSEHOLD_NOT_FOUND)
        household_id, region = household.id, household.region_code
    else:
        found = await DeclarationRepository(session).households_in(
            [declaration.id_number], principal.region_prefix
        )
        household_id = found.get(declaration.id_number)
        household = await cases.household(household_id) if household_id else None
        region = household.region_code if household is not None else declaration.region_code
    if household_id is None:
        # Placed in the village named, which must be the reviewer's and must exist.
        if not principal.covers(declaration.region_code):
            raise ValidationFailed.field(
                "household_id",
                t(
                    "name the household in your region this declarant belongs to",
                    "declaration.household_required",
                ),
            )
        await _check_village(registry, declaration.region_code)
    # Dedup: a person whose household (or who, unregistered) already has an open case joins it.
    case = (
        await cases.open_for_household(household_id)
        if household_id
        else await cases.open_for_declarant(declaration.id_number)
    )
    if case is None:
        case = await case_service.create_case(
            session,
            principal,
            household_id=household_id,
            region_code=region,
            channel=Channel.declaration,
            declaration_code=declaration.tracking_code,
            # The case timeline is read by every role of the region: no full ID number in it.
            note=masked_text(f"{declaration.reason}: {declaration.description}")[:2000],
        )
    declaration.household_id, declaration.case_id = household_id, case.id


async def act(
    session: AsyncSession,
    principal: Principal,
    declaration_id: UUID,
    req: DeclarationActionRequest,
    registry: RegistryClient,
) -> Declaration:
    principal.ensure_role(*REVIEW_ROLES)
    repo = DeclarationRepository(session)
    declaration = await repo.visible(declaration_id, principal.region_prefix, for_update=True)
    if declaration is None:
        raise NotFound(NOT_FOUND)
    if declaration.status not in _OPEN:
        raise Conflict(
            t(
                "this declaration is already {status}",
                "declaration.already_decided",
                status=declaration.status,
            )
        )
    before = declaration.status
    if req.action is DeclarationAction.review:
        declaration.status = DeclarationStage.under_review.value
    elif req.action is DeclarationAction.accept:
        await _accept(session, principal, declaration, req, registry)
        declaration.status = DeclarationStage.accepted.value
    else:
        if not req.note.strip():
            raise ValidationFailed.field(
                "note", t("say why the declaration is not accepted", "declaration.reason_required")
            )
        declaration.status = DeclarationStage.not_accepted.value
    declaration.reviewed_by, declaration.reviewed_at = principal.sub, datetime.now(UTC)
    declaration.review_note = req.note
    declaration.version += 1
    await session.flush()
    action = req.action.value
    await _publish(
        session,
        principal,
        f"declaration.{action}",
        DECLARATION_OPS[action],
        declaration,
        {"status": before},
    )
    return declaration
