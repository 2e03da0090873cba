"""The base of the funds repositories: audited into the funds change log, and a caller sees
what lies in their region and what a region above them holds (``deps.sees``)."""

from typing import Any, ClassVar, TypeVar

from sqlalchemy.orm import DeclarativeBase

from services.funds.database import change_log
from services.funds.deps import sees
from shared.auth import Principal
from shared.changelog import ChangeLog
from shared.repository import RepositoryBase

M = TypeVar("M", bound=DeclarativeBase)


class FundsRepository(RepositoryBase[M]):
    trail: ClassVar[ChangeLog | None] = change_log

    def visible_to(self, principal: Principal, obj: Any) -> bool:
        return sees(principal, obj.region_code)
