"""One logging setup for every Povguard process (the three APIs, the worker, the CLI).

``POVGUARD_LOG_FORMAT=json`` writes one JSON object per line to stdout, what a log
collector expects; the default is a readable line for a terminal (``povguard up``). Every
line names the service and, inside a request or job, its request id and user (the token's
subject, never a name or ID number). Whatever a message or traceback carries, ID numbers,
bearer tokens, JWTs and passwords are masked before the line is written, in the message and
in every other field of the line (request id, user, the ``fields`` a caller adds)."""

import json
import logging
import os
import re
import sys
import time
from typing import Any, TextIO

from shared import request_context

SERVICES = ("registry", "monitoring", "funds", "worker")
SAFE = "povguard_safe"  # a record built only from safe fields (access lines): not scrubbed
FIELDS = "fields"  # the ``extra`` key whose dict becomes top-level keys of the line

_SCRUBBERS: tuple[tuple[re.Pattern[str], str], ...] = (
    # National ID numbers (18 characters, GB 11643), alone or inside a longer text.
    (re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])"), "[id-number]"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=\-]+"), "Bearer [token]"),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), "[token]"),
    (
        re.compile(
            r"(?i)\b(password|passwd|secret|client_secret|refresh_token|access_token|token)"
            r"(['\"]?\s*[:=]\s*['\"]?)[^\s'\",&}]+"
        ),
        r"\1\2[redacted]",
    ),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_\-]+"), "[secret]"),
    # Mainland mobile numbers (11 digits on their own; a millisecond timestamp is not one).
    (re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])"), "[phone]"),
)


def scrub(text: str) -> str:
    """Mask what must never reach a log: ID numbers, phone numbers, tokens, passwords,
    secrets."""
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text


def scrub_value(value: Any) -> Any:
    """A log field's value scrubbed like a message: strings, the strings inside lists and
    dicts, and integers that read as personal data; other values as they are."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [scrub_value(v) for v in value]
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):  # a phone or ID number may come as a number too
        text = str(value)
        return value if scrub(text) == text else scrub(text)
    return scrub(str(value))


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's extra fields, every value scrubbed (a field is written as it comes, so
    it may carry whatever a caller put there)."""
    fields = getattr(record, FIELDS, None) or {}
    return {k: scrub_value(v) for k, v in fields.items()}


class ContextFilter(logging.Filter):
    """Stamps each record with the service and the current request's id and user."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        info = request_context.current()
        record.service = self.service
        if not hasattr(record, "request_id"):
            record.request_id = info.request_id if info is not None else None
        if not hasattr(record, "user"):
            record.user = info.user if info is not None else None
        return True


def _message(record: logging.LogRecord) -> str:
    message = record.getMessage()
    return message if getattr(record, SAFE, False) else scrub(message)


def _exception(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    if record.exc_info:
        return scrub(formatter.formatException(record.exc_info))
    if record.exc_text:
        return scrub(record.exc_text)
    return None


def _timestamp(record: logging.LogRecord) -> str:
    seconds = int(record.created)
    millis = int((record.created - seconds) * 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{millis:03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, logger, message, request_id, user, and
    the record's ``fields`` (method, route, status, duration_ms; job, try, ...)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "service": getattr(record, "service", None),
            "logger": record.name,
            "message": _message(record),
            "request_id": scrub_value(getattr(record, "request_id", None)),
            "user": scrub_value(getattr(record, "user", None)),
        }
        line.update(_fields(record))
        exception = _exception(self, record)
        if exception:
            line["exception"] = exception
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """A readable line: ``03:01:02.123 INFO  registry  [rid user] message key=value``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        millis = int((record.created - int(record.created)) * 1000)
        who = ""
        request_id = scrub_value(getattr(record, "request_id", None))
        if request_id:
            user = scrub_value(getattr(record, "user", None))
            who = f"[{request_id[:12]}{' ' + user if user else ''}] "
        fields = _fields(record)
        tail = (
            " "
            + " ".join(
                f"{k}={v}" for k, v in fields.items() if k not in ("service", "route", "method")
            )
            if fields and not getattr(record, SAFE, False)
            else ""
        )
        text = (
            f"{stamp}.{millis:03d} {record.levelname:<7} {getattr(record, 'service', '-'):<10} "
            f"{who}{_message(record)}{tail}"
        )
        exception = _exception(self, record)
        return f"{text}\n{exception}" if exception else text


class _DropArqFailureLines(logging.Filter):
    """ARQ logs a failed job with its arguments and traceback; ours (with the request id,
    the try and the duration) replaces it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and " failed, %s: %s" in record.msg)


def log_format() -> str:
    value = os.environ.get("POVGUARD_LOG_FORMAT", "text").strip().lower()
    return "json" if value == "json" else "text"


def configure_logging(
    service: str,
    *,
    fmt: str | None = None,
    level: str | int | None = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Route every logger of this process to one handler on stdout (or ``stream``).
    Idempotent: a second call replaces the handler."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter() if (fmt or log_format()) == "json" else TextFormatter())
    handler.addFilter(ContextFilter(service))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "povguard", False):
            root.removeHandler(old)
    handler.povguard = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("POVGUARD_LOG_LEVEL", "INFO").upper())
    # uvicorn's own lines go through ours; its access log is replaced by ours (route
    # templates, not raw paths that may carry an ID number in the query).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    arq_worker = logging.getLogger("arq.worker")
    arq_worker.setLevel(logging.WARNING)
    if not any(isinstance(f, _DropArqFailureLines) for f in arq_worker.filters):
        arq_worker.addFilter(_DropArqFailureLines())
    for noisy in ("httpx", "httpcore", "sqlalchemy.engine", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
