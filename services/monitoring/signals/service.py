"""Department signals (部门预警信息): kept whether or not they match anyone yet, answered one
item at a time, and a matched signal that may raise an alert starts a scan of its county at
once (after the commit) instead of waiting for the next incremental scan."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.alerts import rules
from services.monitoring.alerts import service as scan_service
from services.monitoring.alerts.repository import AlertRepository, ScanRepository
from services.monitoring.alerts.schemas import ScanCreate, ScanMode
from services.monitoring.database import change_log
from services.monitoring.policy.repository import PolicyRepository
from services.monitoring.signals import kinds
from services.monitoring.signals.models import Signal
from services.monitoring.signals.repository import SignalRepository
from services.monitoring.signals.schemas import (
    ItemError,
    SignalBatch,
    SignalBatchResult,
    SignalIn,
    SignalRead,
    SignalResult,
    UnreadableSignal,
)
from services.monitoring.webhooks import HUB
from shared import clock, regions
from shared.auth import Principal, Role
from shared.errors import Conflict, FieldError, NotFound
from shared.i18n import EN, t
from shared.webhooks import service as webhook_service

SIGNAL_ROLES = (Role.department, Role.service, Role.county_officer, Role.province_admin)
# Who starts the scan a signal calls for: the service itself, in the signal's county.
SIGNAL_SCANNER = "monitoring-signals"


def _rejected(index: int, item: Any, errors: list[FieldError], locale: str) -> SignalResult:
    shown = [ItemError(**error.rendered(locale)) for error in errors]
    return SignalResult(
        index=index,
        external_ref=item.external_ref,
        source=item.source,
        id=None,
        status="rejected",
        matched=False,
        household_id=None,
        reason="; ".join(e.message for e in shown),  # kept for older clients
        code=shown[0].code,
        errors=shown,
    )


def _refusals(items: list[SignalIn | UnreadableSignal]) -> dict[int, list[FieldError]]:
    """Each item's own refusals: what its schema refused, or a kind its source does not
    report (a department that misspells a kind hears of it, instead of a signal no rule
    ever reads)."""
    refused: dict[int, list[FieldError]] = {}
    for index, item in enumerate(items):
        if isinstance(item, UnreadableSignal):
            refused[index] = item.errors
        elif (why := kinds.unknown_kind(item.source, item.kind)) is not None:
            refused[index] = [FieldError(field="kind", message=why)]
    return refused


async def receive(
    session: AsyncSession, principal: Principal, batch: SignalBatch, locale: str = EN
) -> SignalBatchResult:
    """Store the batch's good signals whatever the others: each item is answered `created`,
    `duplicate` (received before, or earlier in this batch) or `rejected` with its errors."""
    principal.ensure_role(*SIGNAL_ROLES)
    refused = _refusals(batch.items)
    first_of: dict[tuple[str, str], int] = {}  # key -> the batch's first item with it
    rows = []
    for index, item in enumerate(batch.items):
        if index in refused or not isinstance(item, SignalIn):
            continue
        key = (item.source.value, item.external_ref)
        if key not in first_of:
            first_of[key] = index
            rows.append(item.model_dump(mode="json"))
    repo = SignalRepository(session)
    created: set[tuple[str, str]] = set()
    stored: dict[tuple[str, str], Any] = {}
    if rows:
        created = await repo.insert_batch(
            rows, principal.region_prefix, principal.region_code, principal.sub
        )
        if created:  # their ``signal.received`` events
            webhook_service.kick(session, HUB.service)
        stored = await repo.lookup(
            [{"source": r["source"], "external_ref": r["external_ref"]} for r in rows],
            principal.region_prefix,
        )
    items = []
    for index, item in enumerate(batch.items):
        if index in refused:
            items.append(_rejected(index, item, refused[index], locale))
            continue
        assert isinstance(item, SignalIn)
        key = (item.source.value, item.external_ref)
        signal = stored[key]
        items.append(
            SignalResult(
                index=index,
                external_ref=item.external_ref,
                source=item.source.value,
                id=signal.id,
                status="created" if key in created and first_of[key] == index else "duplicate",
                matched=signal.household_id is not None,
                household_id=signal.household_id,
            )
        )
    if rows:
        await change_log.record(
            session,
            principal,
            action="signals.receive",
            entity="signal_batch",
            entity_id=next(i.id for i in items if i.id is not None),
            region_code=principal.region_code,
            new={"received": len(rows), "created": len(created), "rejected": len(refused)},
        )
        await _scan_soon(session, [stored[key] for key in created if key in stored])
    return SignalBatchResult(
        items=items,
        created=sum(1 for i in items if i.status == "created"),
        duplicates=sum(1 for i in items if i.status == "duplicate"),
        unmatched=sum(1 for i in items if i.status != "rejected" and not i.matched),
        rejected=len(refused),
    )


def _may_raise(signal: Any) -> bool:
    """Does a signal of this kind feed a rule (``alerts.rules``)?"""
    if signal.source == kinds.SignalSource.medical_insurance and signal.amount is not None:
        return True
    return signal.kind in rules.SHOCK_KINDS or signal.kind in rules.ANOMALY_KINDS


async def _scan_soon(session: AsyncSession, new_signals: list[Any]) -> None:
    """An incremental scan of each county where a new matched signal may raise an alert, its
    jobs sent after the commit: the alert comes within a minute, not at the next scheduled
    scan. A county that already has a scan waiting to start needs no other (that one reads
    the household's change when it starts); a county without a policy is judged by nobody."""
    counties = sorted(
        {
            regions.prefix_of(s.region_code)[:6].ljust(12, "0")
            for s in new_signals
            if s.household_id is not None and _may_raise(s)
        }
    )
    scans = ScanRepository(session)
    policies = PolicyRepository(session)
    for county in counties:
        if await scans.county_waiting(county):
            continue
        policy = await policies.in_force(county, clock.today().year)
        if policy is None:
            continue
        scanner = Principal(sub=SIGNAL_SCANNER, role=Role.service, region_code=county)
        body = ScanCreate(region_code=county, year=policy.year, mode=ScanMode.incremental)
        try:
            await scan_service.create_scan(session, scanner, body)
        except Conflict:  # no policy after all: nothing to judge by
            continue


async def get_signal(session: AsyncSession, principal: Principal, signal_id: UUID) -> SignalRead:
    signal = await SignalRepository(session).get(signal_id)
    if signal is None or not principal.covers(signal.region_code):
        raise NotFound(t("signal {signal_id} not found", "signal.not_found", signal_id=signal_id))
    return (await reads(session, principal, [signal]))[0]


async def behind_alert(
    session: AsyncSession, principal: Principal, alert_id: UUID
) -> list[SignalRead]:
    alert = await AlertRepository(session).get(alert_id)
    if alert is None or not principal.covers(alert.region_code):
        raise NotFound(t("alert {alert_id} not found", "alert.not_found", alert_id=alert_id))
    return await reads(session, principal, await SignalRepository(session).behind_alert(alert_id))


async def reads(
    session: AsyncSession, principal: Principal, signals: list[Signal]
) -> list[SignalRead]:
    """Signals as a reader sees them: ID numbers masked for their role, each with the alerts
    it stands behind (one query for the page)."""
    alerts = await SignalRepository(session).alerts_of([s.id for s in signals])
    out = []
    for signal in signals:
        read = SignalRead.model_validate(signal)
        if read.id_number:
            read.id_number = principal.show_id_number(read.id_number)
        read.alert_ids = alerts.get(signal.id, [])
        out.append(read)
    return out
