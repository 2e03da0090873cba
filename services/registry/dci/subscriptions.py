"""Subscribe and unsubscribe (registry_core_api ``SubscribeRequest`` / ``UnSubscribeRequest``):
a subscription names one event type, a filter (a region inside the client's own, categories,
or identifiers) and an expiry; its code comes back in ``on-subscribe``. Notifications are
made by the notifier (``jobs.py``) from the change log."""

import hashlib
import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.dci import criteria, envelope
from services.registry.dci.envelope import Caller
from services.registry.dci.errors import DciError, Rejected
from services.registry.dci.models import DciSubscription
from services.registry.dci.records import HOUSEHOLD_ID, RECORD_TYPE, UIN
from services.registry.dci.repository import DciRepository
from services.registry.dci.service import _audit, _keep, check_item, rejected, requests_of
from shared.db import utcnow
from shared.i18n import t
from shared.settings import Settings

# What a subscriber may be told of (``reg_event_type``): a household registered (REGISTER),
# updated (UPDATE: the household or one of its members), a member added or departed, the
# household's category changed (脱贫户 / 监测户 / 一般农户).
EVENT_TYPES = frozenset(
    {"REGISTER", "UPDATE", "NewHouseHoldMember", "HouseHoldMemberDeparted", "CategoryChanged"}
)
DETAILS = "rjct.notify_details.invalid"
FILTER_ATTRIBUTES = frozenset({"region_code", "category", UIN, HOUSEHOLD_ID})


def _filter(caller: Caller, filter_: Any) -> dict[str, Any]:
    """The subscription's region prefix, categories and identifiers from its filter: one
    identifier (``idtype-value``), or ``and``-ed predicates on ``region_code`` (eq),
    ``category``, ``UIN``, ``HOUSEHOLD_ID`` (eq or in); an empty list is the whole region."""
    principal = caller.principal
    found: dict[str, Any] = {"region_prefix": principal.region_prefix}
    seen: set[str] = set()
    if isinstance(filter_, Mapping):
        condition = criteria.idtype_value(filter_, DETAILS)
        found[condition.attribute] = sorted(condition.value)
        return found
    if not isinstance(filter_, list) or len(filter_) > 10:
        raise Rejected(
            DETAILS, t("the filter is an identifier or a list of predicates", "dci.filter")
        )
    for item in filter_:
        expression = item.get("expression1") if isinstance(item, Mapping) else None
        if not isinstance(expression, Mapping) or item.get("expression2") is not None:
            raise Rejected(DETAILS, t("filter predicates are single expressions", "dci.filter_and"))
        name, operator = expression.get("attribute_name"), expression.get("operator")
        if name not in FILTER_ATTRIBUTES or operator not in ("eq", "in") or name in seen:
            raise Rejected(
                DETAILS,
                t(
                    "filter on {names} with eq or in, each once",
                    "dci.filter_names",
                    names=", ".join(sorted(FILTER_ATTRIBUTES)),
                ),
            )
        seen.add(str(name))
        value = expression.get("attribute_value")
        if name == "region_code":
            if operator != "eq":
                raise Rejected(DETAILS, t("region_code takes eq", "dci.filter_region"))
            found["region_prefix"] = criteria.region(principal, value, DETAILS)
            continue
        values = criteria.strings(value, operator, DETAILS)
        if name == "category":
            found[name] = sorted(criteria.categories(values, DETAILS))
        else:
            found[name] = sorted(criteria.identifiers(name, values, DETAILS))
    return found


def _expiry(criteria_: Mapping[str, Any], settings: Settings) -> datetime:
    """``frequency.end_time``, at most ``dci_subscription_days`` ahead (also the default)."""
    latest = utcnow() + timedelta(days=settings.dci_subscription_days)
    frequency = criteria_.get("frequency")
    end = frequency.get("end_time") if isinstance(frequency, Mapping) else None
    if end is None:
        return latest
    try:
        parsed = datetime.fromisoformat(str(end))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or parsed <= utcnow():
        raise Rejected(
            DETAILS, t("frequency.end_time must be a future time with its zone", "dci.end_time")
        )
    return min(parsed, latest)


def _key(event_type: str, found: Mapping[str, Any], url: str) -> str:
    text = json.dumps([event_type, dict(found), url], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


async def _one(
    repo: DciRepository, caller: Caller, settings: Settings, item: Mapping[str, Any], url: str
) -> dict[str, Any]:
    wanted = item.get("subscribe_criteria")
    if not isinstance(wanted, Mapping):
        raise Rejected(DETAILS, t("subscribe_criteria is required", "dci.subscribe_criteria"))
    event_type = wanted.get("reg_event_type")
    if event_type not in EVENT_TYPES:
        raise Rejected(
            "rjct.notify_types.invalid",
            t(
                "reg_event_type is one of {types}",
                "dci.event_type",
                types=", ".join(sorted(EVENT_TYPES)),
            ),
        )
    found = _filter(caller, wanted.get("filter"))
    key = _key(str(event_type), found, url)
    if await repo.active_subscription(caller.client_id, key):
        raise Rejected(
            "rjct.event.already_subscribed", t("already subscribed", "dci.already_subscribed")
        )
    subscription = repo.add(
        DciSubscription(
            code="sub_" + secrets.token_urlsafe(18),
            client_id=caller.client_id,
            event_type=event_type,
            region_prefix=found["region_prefix"],
            categories=found.get("category"),
            household_nos=found.get(HOUSEHOLD_ID),
            id_numbers=found.get(UIN),
            filter=wanted.get("filter"),
            filter_key=key,
            sender_uri=url,
            transaction_id=caller.message["transaction_id"],
            reference_id=item["reference_id"],
            expires_at=_expiry(wanted, settings),
        )
    )
    await repo.flush()
    info = {
        "version": "1.0.0",
        "code": subscription.code,
        "status": "subscribe",
        "timestamp": envelope.now_iso(),
        "reg_event_type": event_type,
        "filter_type": wanted.get("filter_type")
        or ("idtype-value" if isinstance(wanted.get("filter"), Mapping) else "predicate"),
        "filter": wanted.get("filter"),
        "notify_record_type": RECORD_TYPE,
        "expires_at": subscription.expires_at.isoformat(),
    }
    return {"status": "succ", "subscriptions": [info]}


async def subscribe(
    session: AsyncSession, caller: Caller, settings: Settings, url: str, locale: str
) -> dict[str, Any]:
    """The ``SubscribeResponse`` (sent in ``on-subscribe``) for a ``SubscribeRequest``."""
    batch = requests_of(caller.message, "subscribe_request")
    envelope.check_header(caller.header, "subscribe", len(batch))
    repo, seen, answers, codes = DciRepository(session), set[str](), [], []
    for item in batch:
        reference_id = item.get("reference_id") if isinstance(item, Mapping) else None
        try:
            reference_id, checked = check_item(item, seen)
            answer = await _one(repo, caller, settings, checked, url)
            codes += [s["code"] for s in answer["subscriptions"]]
            answers.append(
                {"reference_id": reference_id, "timestamp": envelope.now_iso(), **answer}
            )
        except Rejected as exc:
            answers.append(rejected(reference_id, exc, locale))
    txn = await _keep(repo, caller, "subscribe", answers, "subscribe_response", codes)
    await _audit(session, caller, txn, "dci_subscribe", subscriptions=codes)
    return {
        "transaction_id": caller.message["transaction_id"],
        "correlation_id": str(txn.id),
        "subscribe_response": answers,
    }


async def unsubscribe(session: AsyncSession, caller: Caller, locale: str) -> dict[str, Any]:
    """The ``UnSubscribeResponse`` (sent in ``on-unsubscribe``): every code must be one of the
    caller's own subscriptions still running, else nothing changes (``rjct``)."""
    envelope.check_header(caller.header, "unsubscribe", None)
    message = caller.message
    codes = message.get("subscription_codes")
    if (
        not isinstance(message.get("transaction_id"), str)
        or not isinstance(codes, list)
        or not (0 < len(codes) <= 100 and all(isinstance(c, str) for c in codes))
    ):
        raise DciError(
            "err.request.bad", t("transaction_id and subscription_codes are required", "dci.unsub")
        )
    repo = DciRepository(session)
    subscriptions = {s.code: s for s in await repo.subscriptions_by_code(caller.client_id, codes)}
    reason = None
    if any(c not in subscriptions for c in codes):
        reason = (
            "rjct.subscription_code.invalid",
            t("unknown subscription code", "dci.unknown_code"),
        )
    elif any(s.status != "subscribe" for s in subscriptions.values()):
        reason = ("rjct.event.already_unsubscribed", t("already unsubscribed", "dci.already_unsub"))
    if reason is None:
        for s in subscriptions.values():
            s.status, s.unsubscribed_at = "unsubscribe", utcnow()
        await repo.cancel_notifications([s.id for s in subscriptions.values()])
    answer: dict[str, Any] = {
        "transaction_id": message["transaction_id"],
        "timestamp": envelope.now_iso(),
        "status": "rjct" if reason else "succ",
        "subscription_status": [
            {"code": c, "status": subscriptions[c].status} for c in codes if c in subscriptions
        ],
    }
    if reason is not None:
        answer["status_reason_code"] = reason[0]
        answer["status_reason_message"] = str(reason[1].render(locale))
    txn = await _keep(repo, caller, "unsubscribe", [], "", list(codes), answer)
    answer["correlation_id"] = str(txn.id)
    txn.status = {**answer}
    await _audit(session, caller, txn, "dci_unsubscribe", subscriptions=list(codes))
    return answer
