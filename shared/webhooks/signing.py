"""Standard Webhooks signatures, made by the ``standardwebhooks`` library itself, so a
partner verifying with any Standard Webhooks library agrees with us byte for byte."""

import base64
import secrets
from datetime import datetime
from uuid import UUID

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def message_id(delivery_id: UUID) -> str:
    """``webhook-id``: one per event and subscription, the same on every retry."""
    return f"msg_{delivery_id.hex}"


def headers(secret: str, delivery_id: UUID, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (signed at the attempt's time, so
    a retry hours later still passes the receiver's five-minute timestamp window)."""
    msg_id = message_id(delivery_id)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }
