"""The ``as_of`` query parameter: an RFC 3339 date-time with its offset, nothing looser (no
bare date, no missing offset, no seconds since 1970)."""

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BeforeValidator

from shared.i18n import t

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


AsOf = Annotated[
    datetime | None,
    BeforeValidator(_rfc3339),
    Query(
        description="按某一时刻查看：RFC 3339 时间（须带时区，如 `2026-06-30T18:00:00+08:00`）。"
        "The registry as it stood at that moment, read from the change log (what was "
        "committed by then), shown masked and scoped for you today. A moment before the "
        "household existed is a 404; a moment later than now is a 422 (`as_of.future`). "
        "`Povguard-As-Of-Position` and `Povguard-As-Of-Seq` name the newest change-log entry the answer uses.",
    ),
]
