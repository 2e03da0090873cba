"""Finding households: the list and search of a region subtree, and what a caller may search
by (departments, who never see names, find people only by ID number or household number)."""

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.households.repository import HouseholdRepository
from shared import idnumber
from shared.auth import Principal
from shared.contracts.registry import HouseholdCategory
from shared.errors import Forbidden
from shared.i18n import t

# A household number: letters, digits and the punctuation partner systems put in their ids
# (``5223011000010001``, ``civil_affairs:A-17``), with at least one digit. A member's name is
# anything else (汉字, or letters alone).
_HOUSEHOLD_NO = re.compile(r"^(?=.*[0-9])[0-9A-Za-z:._/#-]+$")
NAME_SEARCH_REFUSED = t(
    "departments may search households only by ID number or household number, not by name",
    "household.search_by_name",
)


def search_terms(principal: Principal, q: str | None) -> tuple[str | None, bool]:
    """What ``q`` searches: (the term, whether member names may match it). Departments never
    see names, so they may not find people by them either: a ``q`` that is not an ID number
    or a household number is refused, and theirs never matches names."""
    term = q.strip() if q else None
    if not term:
        return None, False
    if principal.sees_names:
        return term, True
    if idnumber.looks_like(term) or _HOUSEHOLD_NO.match(term):
        return term, False
    raise Forbidden(NAME_SEARCH_REFUSED)


async def search_households(
    session: AsyncSession,
    principal: Principal,
    *,
    region_prefix: str,
    category: HouseholdCategory | None,
    q: str | None,
    risk: bool | None,
    id_number: str | None,
    household_no: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Households in a region subtree (``region_prefix``: never wider than the caller's)."""
    term, by_name = search_terms(principal, q)
    return await HouseholdRepository(session).search(
        region_prefix=region_prefix,
        category=category,
        q=term,
        q_matches_names=by_name,
        at_risk=risk,
        id_number=idnumber.normalize(id_number) if id_number else None,
        household_no=household_no,
        cursor=cursor,
        limit=limit,
    )
