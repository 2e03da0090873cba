"""China's calendar: the date and time every policy rule judges by (Asia/Shanghai).

A case's deadline, a signal's ``occurred_on``, a notice's end, the latest economics year, a
birth date in an ID number: all are China's dates. A server's own ``date.today()`` is usually
UTC, which between 00:00 and 08:00 China time is still yesterday; so nothing that judges a policy
date reads the server's clock, only this module. Timestamps stored in the database stay UTC
(``shared.db.utcnow``).

Tests set the moment with ``frozen(...)``."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")

_frozen: datetime | None = None


def now() -> datetime:
    """The current time in China (timezone-aware, Asia/Shanghai)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(CHINA)


def today() -> date:
    """Today's date in China."""
    return now().date()


@contextmanager
def frozen(at: datetime | date) -> Iterator[datetime]:
    """Stop the clock at ``at`` (an aware datetime, any zone; a naive one or a date is China's
    local time, a date its midnight) until the block ends. For tests."""
    global _frozen
    if not isinstance(at, datetime):
        at = datetime.combine(at, time())
    moment = at.replace(tzinfo=CHINA) if at.tzinfo is None else at.astimezone(CHINA)
    previous, _frozen = _frozen, moment
    try:
        yield moment
    finally:
        _frozen = previous
