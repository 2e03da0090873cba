"""Builders for the duplicate tests: people as the matcher reads them, ID numbers mistyped
the ways a clerk mistypes them (the check character recomputed, as entry requires)."""

import zlib
from datetime import date
from itertools import count
from typing import Any

import pyarrow as pa

from services.registry.duplicates import matcher
from shared import idnumber

_ids = count(1)


def one_digit(number: str, at: int = 15) -> str:
    """``number`` with the digit at ``at`` (0-based) changed, check character recomputed."""
    digits = number[:17]
    changed = digits[:at] + str((int(digits[at]) + 3) % 10) + digits[at + 1 :]
    return changed + idnumber.check_character(changed)


def swapped(number: str, at: int = 3) -> str:
    """``number`` with digits ``at`` and ``at + 1`` swapped (they must differ)."""
    d = number[:17]
    changed = d[:at] + d[at + 1] + d[at] + d[at + 2 :]
    return changed + idnumber.check_character(changed)


def person(
    name: str,
    number: str,
    household: str,
    village: str = "522301100001",
    relation: str = "head",
    phone: str | None = None,
) -> dict[str, Any]:
    # Read as the matcher reads it (an old record's wrong check character included).
    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return {
        "member_id": f"00000000-0000-4000-8000-{next(_ids):012d}",
        "household_id": f"00000000-0000-4000-9000-{zlib.crc32(household.encode()):012d}",
        "region_code": village,
        "name": name,
        "id_number": number,
        "sex": "male" if int(number[16]) % 2 else "female",
        "birth_date": born,
        "phone": phone,
        "relation": relation,
    }


def table(people: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(people, schema=matcher.SCHEMA)
