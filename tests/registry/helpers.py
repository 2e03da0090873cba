"""Builders for registry test data: valid ID numbers and household bodies."""

from datetime import date
from itertools import count
from typing import Any

from shared import idnumber

_sequence = count(101)


def id_number(born: date = date(1980, 5, 17), male: bool = True, area: str = "522301") -> str:
    seq = next(_sequence)
    if (seq % 2 == 1) != male:
        seq = next(_sequence)
    return idnumber.make(area, born, seq)


def member(relation: str = "head", **fields: Any) -> dict[str, Any]:
    body = {"name": "王小明", "id_number": id_number(), "relation": relation}
    return body | fields


def household(
    region_code: str,
    household_no: str = "H0001",
    members: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    body = {
        "region_code": region_code,
        "household_no": household_no,
        "address": "丰都村一组",
        "category": "poverty_alleviated",
        "poverty_causes": ["因病"],
        "members": members
        if members is not None
        else [
            member("head"),
            member("spouse", name="李小红", id_number=id_number(date(1982, 3, 9), male=False)),
        ],
    }
    return body | fields
