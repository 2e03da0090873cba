"""The standard's two kinds of refusal: a whole message refused (``ERR`` with an error code,
``Error.code``), and one request of a batch rejected (``rjct`` with a reason code)."""

from shared.i18n import Message

# Error.code (registry_core_api ``Error``) -> HTTP status of the ERR answer.
STATUS = {
    "err.request.bad": 400,
    "err.request.unauthorized": 401,
    "err.request.forbidden": 403,
    "err.request.not_found": 404,
    "err.version.not_supported": 400,
    "err.request.too_many_requests": 429,
    "err.sender_id.invalid": 401,
    "err.sender_uri.invalid": 400,
    "err.receiver_id.invalid": 400,
    "err.signature.missing": 401,
    "err.signature.invalid": 401,
    "err.encryption.invalid": 400,
    "err.service.unavailable": 503,
}


class DciError(Exception):
    """The message is refused: answered ``ERR`` with ``code`` and a (translated) message."""

    def __init__(self, code: str, message: Message | str, retry_after_s: int | None = None) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.status = STATUS[code]
        self.retry_after_s = retry_after_s


class Rejected(Exception):
    """One request of a batch is rejected with the standard's ``status_reason_code``."""

    def __init__(self, reason_code: str, message: Message | str) -> None:
        super().__init__(str(message))
        self.reason_code = reason_code
        self.message = message
