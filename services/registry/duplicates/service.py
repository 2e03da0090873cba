"""The duplicate review (查重): scans of a region, the pairs they propose, an officer's
decision on each, and the check at entry. Nothing is merged without a person: a confirmed
pair departs one member (reason ``duplicate``, naming the one kept) in the decision's
transaction, recorded in the change log like every departure."""

import json
import logging
import time
from typing import Any
from uuid import UUID

import pyarrow as pa
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.database import outbox
from services.registry.duplicates import matcher
from services.registry.duplicates import repository as duplicate_repository
from services.registry.duplicates.models import DuplicatePair, DuplicateScan
from services.registry.duplicates.repository import PairRepository, ScanRepository
from services.registry.duplicates.schemas import (
    DuplicateActionCreate,
    DuplicateField,
    DuplicatePairRead,
    PairAction,
    PairStatus,
    PossibleDuplicate,
)
from services.registry.households import members as household_members
from services.registry.households import service as household_service
from services.registry.households.models import Member
from services.registry.households.schemas import MemberDeparture, MemberRead
from shared import clock
from shared.auth import Principal, Role
from shared.contracts.registry import DepartureReason
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, ValidationFailed
from shared.i18n import t
from shared.repository import Audit

log = logging.getLogger("povguard.duplicates")
JOB_NAME = "registry.duplicates.scan"
DECIDERS = (Role.county_officer, Role.province_admin)


def _labels(comparison: dict[str, Any]) -> dict[int, str]:
    """A field's level labels by Splink's numbering (-1 null, 0 else, then upwards)."""
    real = [lv for lv in comparison["levels"] if not lv.get("null")][:-1]
    return {-1: "null", 0: "else", **{len(real) - k: lv["label"] for k, lv in enumerate(real)}}


LEVELS = {c["name"]: _labels(c) for c in matcher.MODEL["comparisons"]}


def ensure_decider(principal: Principal) -> None:
    if principal.role not in DECIDERS:
        raise Forbidden(
            t(
                "only county officers and above start duplicate scans and decide on duplicates",
                "duplicate.role",
            )
        )


async def start_scan(
    session: AsyncSession, principal: Principal, region_code: str
) -> DuplicateScan:
    """A scan of the county's or province's resident members, run by a worker."""
    ensure_decider(principal)
    await household_service.require_region_in_scope(session, principal, region_code)
    scan = await ScanRepository(session).create(
        DuplicateScan(region_code=region_code, requested_by=principal.sub, status="queued")
    )
    outbox.defer(session, JOB_NAME, str(scan.id), job_id=f"duplicates:{scan.id}")
    return scan


async def get_scan(session: AsyncSession, principal: Principal, scan_id: UUID) -> DuplicateScan:
    return await ScanRepository(session).get_visible(scan_id, principal)


def pair_rows(pairs: pa.Table) -> dict[str, list[Any]]:
    """The matcher's pairs as the upsert's arrays, each pair's fields as JSON."""
    gammas = {f: pairs.column(f"gamma_{f}").to_pylist() for f in matcher.FIELDS}
    weights = {f: pairs.column(f"weight_{f}").to_pylist() for f in matcher.FIELDS}
    fields = [
        json.dumps(
            [
                {
                    "name": f,
                    "agrees": weights[f][k] > 0,
                    "weight": round(weights[f][k], 2),
                    "level": LEVELS[f].get(gammas[f][k], ""),
                }
                for f in matcher.FIELDS
            ],
            ensure_ascii=False,
        )
        for k in range(pairs.num_rows)
    ]
    return {
        "member_a": pairs.column("member_a").to_pylist(),
        "member_b": pairs.column("member_b").to_pylist(),
        "probability": pairs.column("probability").to_pylist(),
        "weight": pairs.column("weight").to_pylist(),
        "fields": fields,
    }


async def list_pairs(
    session: AsyncSession,
    principal: Principal,
    prefix: str,
    status: PairStatus,
    cursor: str | None,
    limit: int,
) -> tuple[list[DuplicatePairRead], str | None]:
    repo = PairRepository(session)
    rows, next_cursor = await repo.paginate(
        repo.listing(principal, prefix, status.value),
        [DuplicatePair.probability, DuplicatePair.id],
        cursor,
        limit,
        descending=True,
    )
    members = await repo.members([m for p in rows for m in (p.member_a, p.member_b)])
    return [pair_read(p, members, principal) for p in rows], next_cursor


def pair_read(
    pair: DuplicatePair, members: dict[UUID, Member], principal: Principal
) -> DuplicatePairRead:
    return DuplicatePairRead(
        id=pair.id,
        probability=pair.probability,
        weight=pair.weight,
        status=PairStatus(pair.status),
        member_ids=[pair.member_a, pair.member_b],
        household_ids=[pair.household_a, pair.household_b],
        fields=[DuplicateField.model_validate(f) for f in pair.fields],
        members=[
            MemberRead.for_principal(members[m], principal)
            for m in (pair.member_a, pair.member_b)
            if m in members
        ],
        kept_member_id=pair.kept_member_id,
        decided_by=pair.decided_by,
        decided_at=pair.decided_at,
        version=pair.version,
    )


async def act(
    session: AsyncSession, principal: Principal, pair_id: UUID, action: DuplicateActionCreate
) -> DuplicatePairRead:
    """``confirm``: the member not kept departs (``duplicate``, naming the kept one), in this
    transaction; ``dismiss``: the pair is closed and never proposed again."""
    ensure_decider(principal)
    repo = PairRepository(session)
    pair = await repo.get_visible(pair_id, principal, for_update=True)
    if pair.status != PairStatus.open:
        raise Conflict(
            t("this pair was already {status}", "duplicate_pair.decided", status=pair.status)
        )
    kept: UUID | None = None
    if action.action == PairAction.confirm:
        if action.keep_member_id not in (pair.member_a, pair.member_b):
            raise ValidationFailed.field(
                "keep_member_id",
                "name one of the pair's two members to keep",
                code="duplicate_pair.keep_member",
            )
        kept = action.keep_member_id
        leaving = pair.member_b if kept == pair.member_a else pair.member_a
        member = await household_members.get_member(session, principal, leaving)
        if member.departed_on is not None:
            raise Conflict(
                t("the member to depart has already departed", "duplicate_pair.departed")
            )
        departure = MemberDeparture(
            reason=DepartureReason.duplicate,
            departed_on=clock.today(),
            new_head_id=action.new_head_id,
        )
        await household_members.depart_member(
            session, principal, leaving, departure, duplicate_of=kept
        )
    status = PairStatus.confirmed if kept else PairStatus.dismissed
    await repo.decide(pair, status.value, principal.sub, utcnow(), kept)
    await repo.record(
        pair,
        Audit(
            principal,
            f"duplicate_pair.{status.value}",
            new={"status": status.value, "kept_member_id": str(kept) if kept else None},
        ),
    )
    members = await repo.members([pair.member_a, pair.member_b])
    return pair_read(pair, members, principal)


async def possible_duplicates(
    session: AsyncSession, principal: Principal, new: list[Member]
) -> dict[UUID, list[PossibleDuplicate]]:
    """The check at entry for members just written (API): each against the registry, the
    candidates the caller may see. It never blocks the write."""
    started = time.perf_counter()
    by_number = await possible_duplicates_by_number(session, principal, [m.id_number for m in new])
    log.debug("duplicate check: %d in %.1f ms", len(new), (time.perf_counter() - started) * 1e3)
    return {m.id: by_number.get(m.id_number, []) for m in new}


# An import's chunk (50,000 rows) is checked this many new members at a time: one slice's
# candidates and pairs are what the check holds in memory.
ENTRY_SLICE = 2_000


async def possible_duplicates_by_number(
    session: AsyncSession, principal: Principal, id_numbers: list[str]
) -> dict[str, list[PossibleDuplicate]]:
    """The check at entry for a batch (sync, an import's chunk), by the new members' ID
    numbers: one candidate query and one scoring per ``ENTRY_SLICE`` of them. Never blocks
    the write."""
    found: dict[str, list[PossibleDuplicate]] = {}
    for start in range(0, len(id_numbers), ENTRY_SLICE):
        found |= await _check_slice(session, principal, id_numbers[start : start + ENTRY_SLICE])
    return found


async def _check_slice(
    session: AsyncSession, principal: Principal, id_numbers: list[str]
) -> dict[str, list[PossibleDuplicate]]:
    if not id_numbers:
        return {}
    try:
        async with session.begin_nested():
            new, candidates, pairs = await duplicate_repository.batch_candidates(
                session, id_numbers
            )
        scored = matcher.score(new, candidates, pairs=pairs)
    except Exception:
        log.exception("duplicate check at entry failed; the write goes on")
        return {}
    numbers = dict(
        zip(matcher.column(new, "member_id"), matcher.column(new, "id_number"), strict=True)
    )
    homes = dict(
        zip(
            matcher.column(candidates, "member_id"),
            zip(
                matcher.column(candidates, "region_code"),
                matcher.column(candidates, "household_id"),
                strict=True,
            ),
            strict=True,
        )
    )
    found: dict[str, list[PossibleDuplicate]] = {}
    for c in scored:
        region, household = homes[c.member_id]
        if principal.covers(region):
            found.setdefault(numbers[c.of_member_id], []).append(
                PossibleDuplicate(
                    of_member_id=UUID(c.of_member_id),
                    member_id=UUID(c.member_id),
                    household_id=UUID(household),
                    probability=round(c.probability, 4),
                    fields=[DuplicateField(name=n, agrees=a, weight=w) for n, a, w in c.fields],
                )
            )
    return found
