"""What a log line, an outgoing call and an enqueued job need to know about the request (or
job) they belong to: its request id and who made it. One context variable holds a small
mutable object so the auth dependency can name the user after the middleware set it up."""

import os
import re
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
# The job keyword argument that carries the request id into the worker (popped before the
# job function runs, see shared.observability.observed_job).
JOB_CONTEXT_KWARG = "povguard_request_id"
# An id a client sends is kept only when it is short and plain (it lands in every log line).
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# ...and never when it looks like personal data: a run of 11 digits or more is a mobile
# number, an ID number (17 digits and a check character) or a bank card.
_PERSONAL_DIGITS = re.compile(r"[0-9]{11,}")


@dataclass(slots=True)
class RequestInfo:
    request_id: str
    user: str | None = None


_current: ContextVar[RequestInfo | None] = ContextVar("povguard_request", default=None)


def new_request_id() -> str:
    while True:  # as unique as a uuid4, without building a UUID object
        made = os.urandom(16).hex()
        if not _PERSONAL_DIGITS.search(made):  # rare; the log scrubber would mask it
            return made


def accept_request_id(sent: str | None) -> str:
    """The client's id (or the one a job was enqueued with) when it is acceptable, else a
    fresh one."""
    if sent and _ACCEPTABLE_ID.match(sent) and not _PERSONAL_DIGITS.search(sent):
        return sent
    return new_request_id()


def begin(request_id: str, user: str | None = None) -> Token[RequestInfo | None]:
    """Enter a request's (or job's) context; ``end`` with the token it returns."""
    return _current.set(RequestInfo(request_id, user))


def end(token: Token[RequestInfo | None]) -> None:
    _current.reset(token)


def current() -> RequestInfo | None:
    return _current.get()


def current_request_id() -> str | None:
    info = _current.get()
    return info.request_id if info is not None else None


def set_user(subject: str) -> None:
    """Name the caller (the token's subject only) for the rest of the request's log lines."""
    info = _current.get()
    if info is not None:
        info.user = subject


def outgoing_headers() -> dict[str, str]:
    """Headers that carry this request's id to another service."""
    request_id = current_request_id()
    return {REQUEST_ID_HEADER: request_id} if request_id else {}


def tag_job_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Job keyword arguments that carry the current request id to the worker."""
    request_id = current_request_id()
    if request_id is None or JOB_CONTEXT_KWARG in kwargs:
        return kwargs
    return {**kwargs, JOB_CONTEXT_KWARG: request_id}
