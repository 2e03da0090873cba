"""The ``as_of`` query parameter (``shared.params``: RFC 3339 with its offset) as the
registry's reads document it."""

from typing import Annotated

from fastapi import Query

from shared.params import AsOfMoment

AsOf = Annotated[
    AsOfMoment,
    Query(
        description="按某一时刻查看：RFC 3339 时间（须带时区，如 `2026-06-30T18:00:00+08:00`）。"
        "The registry as it stood at that moment, read from the change log (what was "
        "committed by then), shown masked and scoped for you today. A moment before the "
        "household existed is a 404; a moment later than now is a 422 (`as_of.future`). "
        "`Povguard-As-Of-Position` and `Povguard-As-Of-Seq` name the newest change-log entry the answer uses.",
    ),
]
