"""What "the policy in force for a region and year" means, for every service's policy table.

One meaning (issue 16): the latest year not after the year asked for; within that year the
county's own row before its province's. So a county's override never outlives the year it
tightened: when the province sets a newer year, that year's figures apply until the county sets
its own for it. A region above county level reads its province's.

This module builds the filter and the ordering; each repository runs the statement."""

from typing import Any

from sqlalchemy import ColumnElement, case

from shared import regions


def candidates(region_code: str) -> list[str]:
    """The rows that may hold a region's policy: its county's (at county level and below),
    then its province's."""
    province = regions.ancestor_at(region_code, regions.RegionLevel.province)
    level = regions.level_of(region_code)
    if regions.level_rank(level) >= regions.level_rank(regions.RegionLevel.county):
        return [regions.county_of(region_code), province]
    return [province]


def in_force(
    region_column: Any, year_column: Any, region_code: str, year: int
) -> tuple[list[ColumnElement[bool]], list[Any]]:
    """``(where, order_by)`` for the row in force: take the first row under a ``LIMIT 1``."""
    codes = candidates(region_code)
    where = [region_column.in_(codes), year_column <= year]
    own_first = case((region_column == codes[0], 0), else_=1)
    return where, [year_column.desc(), own_first]
