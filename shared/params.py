"""Path and query parameters every service shares, bounded in the schema itself so that a
fuzzer's ``year=8589934592`` is a 422 before it reaches PostgreSQL's int4."""

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from shared.db import utcnow
from shared.errors import ValidationFailed
from shared.i18n import t

# Years Povguard keeps: the poverty registry starts in 2014; policy may be set years ahead.
FIRST_YEAR, LAST_YEAR = 2000, 2100

YearPath = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR, description="Year, e.g. 2025")]
YearQuery = Annotated[int | None, Query(ge=FIRST_YEAR, le=LAST_YEAR, description="Year, e.g. 2025")]
# A region a reader asks about (GB/T 2260 code, 12 digits); absent: the reader's own.
RegionQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{12}$",
        description="12-digit region code; default the caller's own region",
    ),
]


# Pydantic reads a number (``since=0.5``) as seconds since 1970; a query parameter documented
# as an ISO 8601 date or date-time takes only that.
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def _iso_only(kind: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
            raise PydanticCustomError(kind, "not an ISO 8601 value")
        return value

    return check


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only("datetime_parsing"))]
IsoDate = Annotated[date, BeforeValidator(_iso_only("date_parsing"))]


# ``as_of``: an RFC 3339 date-time with its offset, nothing looser (no bare date, no missing
# offset, no seconds since 1970). Each service's router documents what it reads at that moment.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: Any) -> Any:
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError(
            t(
                "must be an RFC 3339 time with its offset, e.g. 2026-06-30T18:00:00+08:00",
                "as_of.format",
            )
        )
    return value


AsOfMoment = Annotated[datetime | None, BeforeValidator(_rfc3339)]


def check_as_of(moment: datetime) -> datetime:
    """A moment later than now is refused (422 ``as_of.future``): no one can say what will be."""
    if moment > utcnow():
        raise ValidationFailed.field(
            "as_of",
            t("is later than now: the registry cannot say what it will hold", "as_of.future"),
        )
    return moment
