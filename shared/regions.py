"""12-digit statistical division codes (统计用区划代码): 2 province + 2 city + 2 county +
3 township + 3 village digits. The level follows from where the trailing zeros start."""

import re
from enum import StrEnum

from shared.i18n import t

_CODE = re.compile(r"^[0-9]{12}$")  # ASCII only: Python's \d also takes "１"


class RegionLevel(StrEnum):
    """Administrative level, read from the 12-digit division code: `province` 省, `city` 市/州,
    `county` 县/市/区, `township` 乡/镇/街道, `village` 村/社区."""

    province = "province"
    city = "city"
    county = "county"
    township = "township"
    village = "village"


# How many leading digits are significant at each level.
PREFIX_LENGTH = {
    RegionLevel.province: 2,
    RegionLevel.city: 4,
    RegionLevel.county: 6,
    RegionLevel.township: 9,
    RegionLevel.village: 12,
}
_LEVELS = list(PREFIX_LENGTH)


def is_valid_code(code: str) -> bool:
    return bool(_CODE.match(code)) and code[:2] != "00"


def level_of(code: str) -> RegionLevel:
    if not is_valid_code(code):
        raise ValueError(
            t(
                "region code must be 12 digits, got {region_code}",
                "region.code_format",
                region_code=repr(code),
            )
        )
    for level in _LEVELS[:-1]:
        if code[PREFIX_LENGTH[level] :].strip("0") == "":
            return level
    return RegionLevel.village


def prefix_of(code: str) -> str:
    """The significant prefix: every code below this region starts with it."""
    return code[: PREFIX_LENGTH[level_of(code)]]


def parent_of(code: str) -> str | None:
    level = level_of(code)
    index = _LEVELS.index(level)
    if index == 0:
        return None
    keep = PREFIX_LENGTH[_LEVELS[index - 1]]
    return code[:keep].ljust(12, "0")


def ancestor_at(code: str, level: RegionLevel) -> str:
    """The code of the region at ``level`` that contains ``code``."""
    return code[: PREFIX_LENGTH[level]].ljust(12, "0")


def county_of(code: str) -> str:
    return ancestor_at(code, RegionLevel.county)


def contains(outer: str, inner: str) -> bool:
    """Whether region ``inner`` lies in (or is) region ``outer``."""
    return inner.startswith(prefix_of(outer))


def level_rank(level: RegionLevel) -> int:
    return _LEVELS.index(level)


def child_prefix_length(prefix: str) -> int | None:
    """The prefix length of the level below a region's (given by its significant prefix);
    none below a village."""
    index = _LEVELS.index(level_of(prefix.ljust(12, "0")))
    return PREFIX_LENGTH[_LEVELS[index + 1]] if index + 1 < len(_LEVELS) else None
