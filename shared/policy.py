"""What "the policy in force for a region and year" means, for every service's policy table.

One meaning (issue 16): the latest year not after the year asked for; within that year the
county's own row before its province's. So a county's override never outlives the year it
tightened: when the province sets a newer year, that year's figures apply until the county sets
its own for it. A region above county level reads its province's.

This module builds the filter and the ordering; each repository runs the statement: a read
for one region and year, and the funds compliance scan, which joins each row it judges to its
policy, from the same expression (so there is one definition to change)."""

from typing import Any

from sqlalchemy import ColumnElement, case, func

from shared import regions


def candidates(region_code: str) -> list[str]:
    """The rows that may hold a region's policy: its county's (at county level and below),
    then its province's."""
    province = regions.ancestor_at(region_code, regions.RegionLevel.province)
    level = regions.level_of(region_code)
    if regions.level_rank(level) >= regions.level_rank(regions.RegionLevel.county):
        return [regions.county_of(region_code), province]
    return [province]


def candidates_of_column(region: ColumnElement[str]) -> list[ColumnElement[str]]:
    """``candidates`` in SQL, for a column of regions at county level or below (a set-based
    scan judges many rows at once): each row's county code, then its province's."""

    def ancestor(level: regions.RegionLevel) -> ColumnElement[str]:
        return func.rpad(func.left(region, regions.PREFIX_LENGTH[level]), 12, "0")

    return [ancestor(regions.RegionLevel.county), ancestor(regions.RegionLevel.province)]


def in_force(
    region_column: Any,
    year_column: Any,
    region_code: str | ColumnElement[str],
    year: int | ColumnElement[int],
) -> tuple[list[ColumnElement[bool]], list[Any]]:
    """``(where, order_by)`` for the row in force: take the first row under a ``LIMIT 1``.
    ``region_code`` and ``year`` are values, or SQL expressions of the row a scan judges
    (a region at county level or below, see ``candidates_of_column``)."""
    codes = (
        candidates(region_code)
        if isinstance(region_code, str)
        else candidates_of_column(region_code)
    )
    where = [region_column.in_(codes), year_column <= year]
    own_first = case((region_column == codes[0], 0), else_=1)
    return where, [year_column.desc(), own_first]
