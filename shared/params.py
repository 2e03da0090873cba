"""Path and query parameters every service shares, bounded in the schema itself so that a
fuzzer's ``year=8589934592`` is a 422 before it reaches PostgreSQL's int4."""

from typing import Annotated

from fastapi import Path, Query

# Years Povguard keeps: the poverty registry starts in 2014; policy may be set years ahead.
FIRST_YEAR, LAST_YEAR = 2000, 2100

YearPath = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR, description="Year, e.g. 2025")]
YearQuery = Annotated[int | None, Query(ge=FIRST_YEAR, le=LAST_YEAR, description="Year, e.g. 2025")]
