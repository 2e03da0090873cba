"""DCI search and transaction status: each request of a batch answered on its own (``succ``
with records, or ``rjct`` with the standard's reason code), the answer kept as a transaction
(statuses only, never records) for ``txn/status``, and every call in the audit trail as a read
of personal data. Asynchronous calls are acknowledged at once; their answer is a delivery
(``jobs.py``) written in the same transaction."""

import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.database import change_log, outbox
from services.registry.dci import criteria, envelope, records
from services.registry.dci.envelope import Caller
from services.registry.dci.errors import DciError, Rejected
from services.registry.dci.models import DciDelivery, DciTransaction
from services.registry.dci.repository import DciRepository
from shared import clock
from shared.i18n import render, t
from shared.settings import Settings

DELIVER_JOB = "dci_deliver"
MAX_REQUESTS = 20  # requests in one message
LOCALE = "zho"  # ISO 639-3, as the standard's ``locale``
TXN_ACTIONS = {"search": "on-search", "subscribe": "on-subscribe", "unsubscribe": "on-unsubscribe"}


def requests_of(message: Mapping[str, Any], key: str) -> list[Any]:
    """The message's batch (``search_request``...), with its ``transaction_id``."""
    transaction_id, batch = message.get("transaction_id"), message.get(key)
    if not isinstance(transaction_id, str) or not 0 < len(transaction_id) <= 99:
        raise DciError("err.request.bad", t("transaction_id is a string of 1 to 99", "dci.txn_id"))
    if not isinstance(batch, list) or not 0 < len(batch) <= MAX_REQUESTS:
        raise DciError(
            "err.request.bad",
            t("{key} is a list of 1 to {n} requests", "dci.batch", key=key, n=MAX_REQUESTS),
        )
    return batch


def check_item(item: Any, seen: set[str]) -> tuple[str, Mapping[str, Any]]:
    """The request's ``reference_id``, unique within its message, and its timestamp."""
    if not isinstance(item, Mapping):
        raise Rejected("rjct.reference_id.invalid", t("a request is an object", "dci.item"))
    reference_id = item.get("reference_id")
    if not isinstance(reference_id, str) or not reference_id:
        raise Rejected("rjct.reference_id.invalid", t("reference_id is required", "dci.ref"))
    if reference_id in seen:
        raise Rejected("rjct.reference_id.duplicate", t("reference_id repeats", "dci.ref_dup"))
    seen.add(reference_id)
    if not isinstance(item.get("timestamp"), str):
        raise Rejected("rjct.timestamp.invalid", t("timestamp is required", "dci.timestamp"))
    return reference_id, item


def rejected(reference_id: Any, exc: Rejected, locale: str) -> dict[str, Any]:
    return {
        "reference_id": reference_id if isinstance(reference_id, str) else "",
        "timestamp": envelope.now_iso(),
        "status": "rjct",
        "status_reason_code": exc.reason_code,
        "status_reason_message": render(exc.message, locale)[:999],
    }


async def _one_search(
    repo: DciRepository, caller: Caller, settings: Settings, criteria_: Any, today: date
) -> tuple[dict[str, Any], list[UUID]]:
    wanted = criteria.search(caller.principal, criteria_, settings.dci_max_page_size, today)
    offset = (wanted.page_number - 1) * wanted.page_size
    total, ids = await repo.search(
        caller.principal.region_prefix,
        wanted.clauses,
        wanted.sort,
        wanted.page_size,
        offset,
        settings.dci_max_records,
    )
    if total > settings.dci_max_records:
        raise Rejected(
            "rjct.search.too_many_records_found",
            t(
                "more than {n} records match; narrow the search",
                "dci.too_many_records",
                n=settings.dci_max_records,
            ),
        )
    found = await repo.households(ids)
    item = {
        "status": "succ",
        "data": {
            "version": "1.0.0",
            "reg_record_type": records.RECORD_TYPE,
            "reg_records": [records.group(caller.principal, h, m) for h, m in found],
        },
        "pagination": {
            "page_size": wanted.page_size,
            "page_number": wanted.page_number,
            "total_count": total,
        },
        "locale": LOCALE,
    }
    return item, [h["id"] for h, _ in found]


async def search(
    session: AsyncSession, caller: Caller, settings: Settings, locale: str
) -> tuple[dict[str, Any], DciTransaction]:
    """The ``SearchResponse`` message for the caller's ``SearchRequest``."""
    batch = requests_of(caller.message, "search_request")
    envelope.check_header(caller.header, "search", len(batch))
    repo, today, seen = DciRepository(session), clock.today(), set[str]()
    answers, read = [], []
    for item in batch:
        reference_id = item.get("reference_id") if isinstance(item, Mapping) else None
        try:
            reference_id, checked = check_item(item, seen)
            answer, ids = await _one_search(
                repo, caller, settings, checked.get("search_criteria"), today
            )
            read += ids
            answers.append(
                {"reference_id": reference_id, "timestamp": envelope.now_iso(), **answer}
            )
        except Rejected as exc:
            answers.append(rejected(reference_id, exc, locale))
    txn = await _keep(repo, caller, "search", answers, "search_response")
    await _audit(session, caller, txn, "dci_search", households=[str(i) for i in read])
    message = {
        "transaction_id": caller.message["transaction_id"],
        "correlation_id": str(txn.id),
        "search_response": answers,
    }
    return message, txn


def _without_records(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in a.items() if k != "data"} for a in answers]


async def _keep(
    repo: DciRepository,
    caller: Caller,
    action: str,
    answers: list[dict[str, Any]],
    key: str,
    codes: list[str] | None = None,
    status: dict[str, Any] | None = None,
) -> DciTransaction:
    """The transaction ``txn/status`` answers later: its statuses, never its records."""
    txn = DciTransaction(
        id=uuid.uuid4(),
        client_id=caller.client_id,
        action=action,
        transaction_id=caller.message["transaction_id"],
        message_id=str(caller.header["message_id"])[:99],
        reference_ids=[a["reference_id"] for a in answers if a.get("reference_id")],
        subscription_codes=codes or [],
    )
    txn.status = status or {
        "transaction_id": txn.transaction_id,
        "correlation_id": str(txn.id),
        key: _without_records(answers),
    }
    repo.add(txn)
    await repo.flush()
    return txn


async def _audit(
    session: AsyncSession, caller: Caller, txn: DciTransaction, action: str, **new: Any
) -> None:
    """The call in the change log's audit trail, as a read of personal data (never published)."""
    await change_log.record(
        session,
        caller.principal,
        action=action,
        entity="dci_transaction",
        entity_id=txn.id,
        region_code=caller.principal.region_code,
        new={"transaction_id": txn.transaction_id, "message_id": txn.message_id, **new},
    )


def deliver_later(
    session: AsyncSession,
    settings: Settings,
    caller: Caller,
    action: str,
    message: dict[str, Any],
    total: int,
    completed: int,
    url: str,
) -> None:
    """The answer to an asynchronous call, POSTed (signed) to ``url`` after this commit."""
    message_id = uuid.uuid4()
    header = envelope.callback_header(
        settings, action, caller.client_id, total, completed, message_id=str(message_id)
    )
    session.add(
        DciDelivery(
            message_id=message_id,
            client_id=caller.client_id,
            stream=f"client:{caller.client_id}",
            action=action,
            url=url,
            payload={"header": header, "message": message},
        )
    )
    outbox.defer(session, DELIVER_JOB)


async def txn_status(session: AsyncSession, caller: Caller, settings: Settings) -> dict[str, Any]:
    """The ``TxnStatusResponse`` for the caller's own transaction (the newest that matches)."""
    envelope.check_header(caller.header, "txn-status", 1)
    message = caller.message
    request = message.get("txnstatus_request")
    if not isinstance(message.get("transaction_id"), str) or not isinstance(request, Mapping):
        raise DciError("err.request.bad", t("txnstatus_request is required", "dci.txn_request"))
    attribute, value = request.get("attribute_type"), request.get("attribute_value")
    values: list[Any] = value if isinstance(value, list) else [value]
    txn_type = request.get("txn_type")
    if (
        attribute
        not in (
            "transaction_id",
            "correlation_id",
            "reference_id_list",
            "subscription_code_list",
        )
        or not all(isinstance(v, str) for v in values)
        or txn_type not in (None, *TXN_ACTIONS)
    ):
        raise DciError(
            "err.request.bad", t("attribute_type, attribute_value or txn_type", "dci.txn_attr")
        )
    found = await DciRepository(session).transactions(
        caller.client_id, str(attribute), [str(v) for v in values], txn_type
    )
    if not found:
        raise DciError("err.request.not_found", t("no such transaction", "dci.txn_not_found"))
    txn = found[0]
    await _audit(session, caller, txn, "dci_txn_status")
    return {
        "transaction_id": message["transaction_id"],
        "correlation_id": str(uuid.uuid4()),
        "txnstatus_response": {"txn_type": TXN_ACTIONS[txn.action], "txn_status": txn.status},
    }


def retention(settings: Settings) -> timedelta:
    return timedelta(days=settings.dci_txn_days)
