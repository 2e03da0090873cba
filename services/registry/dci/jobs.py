"""DCI jobs: the notifier (change log -> notifications), the sender of callbacks and
notifications (signed at sending, retried with the webhooks' backoff, in order per stream,
always under the same ``message_id``: at least once), and the purge of old transactions."""

import asyncio
import logging
import time
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.clients.repository import ClientRepository
from services.registry.dci import envelope, records
from services.registry.dci.models import DciDelivery
from services.registry.dci.repository import DciRepository
from services.registry.dci.service import DELIVER_JOB, LOCALE
from shared import jobs
from shared.auth import Principal, Role
from shared.db import utcnow
from shared.settings import Settings
from shared.webhooks import delivery

log = logging.getLogger("povguard.dci")

NOTIFY_PAGE = 2000
SEND_BATCH = 50
RUN_BUDGET_S = 25.0
TICK_SECONDS = set(range(0, 60, 5))
USER_AGENT = "Povguard-DCI/1"


async def _notify_body(
    session: AsyncSession, settings: Settings, row: DciDelivery
) -> dict[str, Any] | None:
    """A notification's ``NotifyEventRequest``, with the household as the subscriber may see
    it now; None when the client is gone or the household is no longer in its region."""
    client = await ClientRepository(session).get(uuid.UUID(row.client_id))
    found = await DciRepository(session).households([row.household_id] if row.household_id else [])
    if client is None or not client.is_active or not found:
        return None
    principal = Principal(
        sub=f"client:{client.id}",
        role=Role(client.role),
        region_code=client.region_code,
        client_id=str(client.id),
    )
    household, members = found[0]
    if not principal.covers(household["region_code"]):
        return None
    event = {
        "reference_id": str(row.message_id),
        "timestamp": (row.event_at or row.created_at).isoformat(),
        "data": {
            "version": "1.0.0",
            "reg_type": records.REGISTRY_TYPE,
            "reg_event_type": row.event_type,
            "reg_record_type": records.RECORD_TYPE,
            "reg_records": records.group(principal, household, members),
        },
        "locale": LOCALE,
    }
    message = {"transaction_id": f"notify:{row.subscription_id}", "notify_event": [event]}
    header = envelope.callback_header(
        settings, "notify", row.client_id, 1, 1, message_id=str(row.message_id)
    )
    return {"header": header, "message": message}


async def _send(
    http: aiohttp.ClientSession, settings: Settings, body: dict[str, Any], url: str
) -> str | None:
    """POST the signed envelope; None on a 2xx answer, else why not."""
    signed = envelope.signed(settings, body["header"], body["message"])
    try:
        async with http.post(
            url,
            json=signed,
            headers={"user-agent": USER_AGENT},
            allow_redirects=False,
        ) as response:
            await response.content.read(delivery.ANSWER_BYTES)
            if 200 <= response.status < 300:
                return None
            return f"HTTP {response.status}"
    except TimeoutError:
        return "no answer within the timeout"
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"[: delivery.ERROR_CHARS]


def _record(row: DciDelivery, settings: Settings, error: str | None) -> None:
    row.attempts += 1
    if error is None:
        # Sent: the answer's records (personal data) are not kept.
        row.status, row.sent_at, row.payload, row.last_error = "sent", utcnow(), None, None
        return
    row.last_error = error
    if utcnow() - row.created_at > timedelta(hours=settings.webhook_retry_hours):
        row.status = "failed"
    else:
        row.next_attempt_at = utcnow() + delivery.next_wait(row.attempts)


async def deliver_due(ctx: dict[str, Any]) -> int:
    """Send what is due, a stream's messages one after another; answers how many were tried.
    Through the worker's webhook client (every address vetted), or one of its own."""
    own = ctx.get("webhooks_http") is None
    http = delivery.client(ctx["settings"]) if own else ctx["webhooks_http"]
    try:
        return await _deliver_due(ctx, http)
    finally:
        if own:
            await http.close()


async def _deliver_due(ctx: dict[str, Any], http: aiohttp.ClientSession) -> int:
    settings: Settings = ctx["settings"]
    started, tried = time.monotonic(), 0
    while time.monotonic() - started < RUN_BUDGET_S:
        async with jobs.unit_of_work(ctx) as session:
            rows = await DciRepository(session).due_deliveries(SEND_BATCH)
            if not rows:
                break
            bodies = []
            for row in rows:  # the session serves one query at a time
                body = (
                    row.payload
                    if row.action != "notify"
                    else await _notify_body(session, settings, row)
                )
                if body is None:
                    row.status, row.last_error = (
                        "failed",
                        "the client or the household is out of reach",
                    )
                bodies.append(body)
            sending = [(r, b) for r, b in zip(rows, bodies, strict=True) if b is not None]
            # The rows head different streams: sent side by side, each stream in order.
            errors = await asyncio.gather(*(_send(http, settings, b, r.url) for r, b in sending))
            for (row, _), error in zip(sending, errors, strict=True):
                _record(row, settings, error)
        tried += len(rows)
    return tried


async def notify(ctx: dict[str, Any]) -> int:
    """Change-log entries into notifications until the log is read; answers entries read."""
    total = 0
    while True:
        async with jobs.unit_of_work(ctx) as session:
            read = await DciRepository(session).notify_pass(NOTIFY_PAGE)
        total += read
        if read < NOTIFY_PAGE:
            return total


@jobs.task(name=DELIVER_JOB, timeout_s=60, max_tries=3, keep_result_s=0)
async def dci_deliver(ctx: dict[str, Any]) -> int:
    try:
        return await deliver_due(ctx)
    except Exception as exc:
        jobs.retry_if_transient(ctx, DELIVER_JOB, exc)
        raise


@jobs.task(name="dci_tick", timeout_s=60, max_tries=1, keep_result_s=0)
async def dci_tick(ctx: dict[str, Any]) -> dict[str, int]:
    """Every five seconds: new changes become notifications, due messages are sent (a change
    reaches a subscriber within seconds; a failed one is retried when its wait is over)."""
    read = await notify(ctx)
    return {"read": read, "sent": await deliver_due(ctx)}


@jobs.task(name="dci_purge", timeout_s=170, max_tries=3)
async def dci_purge(ctx: dict[str, Any]) -> dict[str, int]:
    """Forget transactions after ``dci_txn_days`` and finished deliveries after the webhooks'
    retention (idempotent)."""
    settings: Settings = ctx["settings"]
    async with jobs.unit_of_work(ctx) as session:
        repo = DciRepository(session)
        txns = await repo.purge_transactions(utcnow() - timedelta(days=settings.dci_txn_days))
        sent = await repo.purge_deliveries(
            utcnow() - timedelta(days=settings.webhook_retention_days)
        )
    return {"transactions": txns, "deliveries": sent}


jobs.schedule("dci_tick", second=TICK_SECONDS)
jobs.schedule("dci_purge", minute={47}, hour={3})
