"""Path and query parameters every service shares, bounded in the schema itself so that a
fuzzer's ``year=8589934592`` is a 422 before it reaches PostgreSQL's int4."""

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

# Years Povguard keeps: the poverty registry starts in 2014; policy may be set years ahead.
FIRST_YEAR, LAST_YEAR = 2000, 2100

YearPath = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR, description="Year, e.g. 2025")]
YearQuery = Annotated[int | None, Query(ge=FIRST_YEAR, le=LAST_YEAR, description="Year, e.g. 2025")]


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
