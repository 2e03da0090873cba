"""The envelope ``{signature, header, message}``: who sent it (the bearer token's registered
client, whose ``client_id`` is the ``sender_id``), whether its signature verifies against the
client's registered keys, its rate limits, and the registry's signed answers."""

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.clients.models import Client
from services.registry.clients.repository import ClientRepository
from services.registry.dci import signing
from services.registry.dci.errors import DciError
from shared import ratelimit
from shared.auth import Principal, Scope
from shared.i18n import Message, render, t
from shared.settings import Settings
from shared.webhooks import targets

VERSION = "1.0.0"
HEADER_FIELDS = ("message_id", "message_ts", "action", "sender_id", "total_count")
MAX_BODY_ITEMS = 100


@dataclass(frozen=True)
class Caller:
    """A verified DCI request: its client, the principal its token names, and the envelope."""

    principal: Principal
    client: Client
    header: dict[str, Any]
    message: dict[str, Any]

    @property
    def client_id(self) -> str:
        return str(self.client.id)

    @property
    def sender_uri(self) -> str:
        return str(self.header.get("sender_uri") or "")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_body(raw: bytes) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise DciError("err.request.bad", t("the body is not JSON", "dci.not_json")) from None
    if not isinstance(body, dict) or not isinstance(body.get("header"), dict):
        raise DciError(
            "err.request.bad", t("the body is {signature, header, message}", "dci.shape")
        )
    if not isinstance(body.get("message"), dict):
        raise DciError(
            "err.request.bad", t("the body is {signature, header, message}", "dci.shape")
        )
    return body.get("signature"), body["header"], body["message"]


def check_header(header: Mapping[str, Any], action: str, items: int | None) -> None:
    missing = [f for f in HEADER_FIELDS if header.get(f) in (None, "")]
    if missing:
        raise DciError(
            "err.request.bad",
            t("the header lacks {fields}", "dci.header_missing", fields=", ".join(missing)),
        )
    if header.get("version", VERSION) != VERSION:
        raise DciError("err.version.not_supported", t("version 1.0.0 only", "dci.version"))
    if header["action"] != action:
        raise DciError(
            "err.request.bad", t("the action here is {action}", "dci.action", action=action)
        )
    if header.get("is_msg_encrypted"):
        raise DciError(
            "err.encryption.invalid", t("encrypted messages are not accepted", "dci.encrypted")
        )
    if items is not None and header["total_count"] != items:
        raise DciError(
            "err.request.bad",
            t("total_count must be the number of requests ({n})", "dci.total_count", n=items),
        )


async def _rate(redis: Any, settings: Settings, client_id: str) -> None:
    for window_s, limit in (
        (60, settings.dci_rate_per_minute),
        (86_400, settings.dci_rate_per_day),
    ):
        n, remaining_s = await ratelimit.count(
            redis, f"dci:{client_id}:{window_s}", window_s=window_s
        )
        if n > limit:
            raise DciError(
                "err.request.too_many_requests",
                t("too many requests; try again later", "dci.too_many"),
                retry_after_s=max(int(remaining_s + 0.999), 1),
            )


async def verify(
    session: AsyncSession,
    redis: Any,
    settings: Settings,
    principal: Principal,
    raw: bytes,
    action: str,
    scope: Scope,
) -> Caller:
    """The verified request, or ``DciError``. Only a registered client may call (people have
    no signing keys); its token must carry ``scope``."""
    if principal.client_id is None:
        raise DciError(
            "err.request.forbidden",
            t("only registered clients call the DCI API", "dci.clients_only"),
        )
    if not principal.has_scope(scope):
        raise DciError(
            "err.request.forbidden",
            t("this client lacks the scope {scope}", "scope.missing", scope=scope.value),
        )
    await _rate(redis, settings, principal.client_id)
    signature, header, message = parse_body(raw)
    client = await ClientRepository(session).get(uuid.UUID(principal.client_id))
    if client is None or not client.is_active:
        raise DciError("err.request.unauthorized", t("the client is not active", "dci.inactive"))
    if header.get("receiver_id") not in (None, "", settings.dci_sender_id):
        raise DciError(
            "err.receiver_id.invalid",
            t("receiver_id is {id} or absent", "dci.receiver_id", id=settings.dci_sender_id),
        )
    if header.get("sender_id") != principal.client_id:
        raise DciError(
            "err.sender_id.invalid",
            t("sender_id must be your client_id", "dci.sender_id"),
        )
    try:
        signing.verify(
            signature, header, message, (client.jwks or {}).get("keys", []), str(client.id)
        )
    except signing.SignatureError as exc:
        if exc.kind == "missing":
            raise DciError(
                "err.signature.missing", t("the message is not signed", "dci.unsigned")
            ) from None
        raise DciError(
            "err.signature.invalid",
            t("the signature is not valid: {reason}", "dci.bad_signature", reason=exc.reason),
        ) from None
    return Caller(principal, client, header, message)


def check_sender_uri(caller: Caller, settings: Settings) -> str:
    """Where an asynchronous answer goes: the header's ``sender_uri``, a URL a webhook could
    target (https, public; ``shared.webhooks.targets``)."""
    try:
        targets.parse(caller.sender_uri, settings)
    except targets.TargetRefused as exc:
        why = exc.args[0] if isinstance(exc.args[0], Message) else Message(str(exc.args[0]))
        raise DciError(
            "err.sender_uri.invalid", t("sender_uri {reason}", "dci.sender_uri", reason=why)
        ) from None
    return caller.sender_uri


def callback_header(
    settings: Settings,
    action: str,
    receiver_id: str,
    total: int,
    completed: int,
    status: str = "succ",
    message_id: str | None = None,
) -> dict[str, Any]:
    return {
        "version": VERSION,
        "message_id": message_id or str(uuid.uuid4()),
        "message_ts": now_iso(),
        "action": action,
        "status": status,
        "total_count": total,
        "completed_count": completed,
        "sender_id": settings.dci_sender_id,
        "receiver_id": receiver_id,
        "is_msg_encrypted": False,
    }


def signed(settings: Settings, header: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    key = signing.registry_key(settings)
    return {"signature": key.sign(header, message), "header": header, "message": message}


def ack(
    settings: Settings,
    action: str,
    receiver_id: str,
    correlation_id: str,
    error: DciError | None = None,
    locale: str = "zh",
) -> dict[str, Any]:
    """The standard's acknowledgement (``ACK``, or ``ERR`` with the error), signed."""
    message: dict[str, Any] = {
        "ack_status": "ERR" if error else "ACK",
        "timestamp": now_iso(),
        "correlation_id": correlation_id,
    }
    if error is not None:
        message["error"] = {"code": error.code, "message": render(error.message, locale)}
    status = "rjct" if error else "rcvd"
    header = callback_header(settings, action, receiver_id, 0, 0, status)
    return signed(settings, header, message)
