"""What a person's record shows to whom: the masking rule, written once.

Full national ID numbers and birth dates are shown only to roles that see full ID numbers
(``county_officer`` and above, and Povguard's own services). Everyone else sees the mask
(``5223*************X``, ``shared.idnumber.mask``) and the birth *year* only: a birth date
next to the mask and the region code would rebuild the number with one guess. Departments
also see no names and no phone numbers.

``person_view`` is the rule on stored fields (a member row, a household row, an audit entry's
old and new values); the set-based paths that never build Python objects (the change feed,
the CSV export) use its SQL twins below, which say the same thing in SQL.
"""

from collections.abc import Mapping
from datetime import date
from typing import Any

from shared import idnumber
from shared.auth import Principal

# Keys that name or reach a person, hidden from roles that see no names (departments).
CONTACT_KEYS = ("name", "phone")


def _birth_year(value: Any) -> int | None:
    if isinstance(value, date):
        return value.year
    if isinstance(value, str) and len(value) >= 4 and value[:4].isdigit():
        return int(value[:4])
    return None


def person_view(principal: Principal, fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` as ``principal`` may see them. Only the keys present are touched: an
    ``id_number`` is masked, a ``birth_date`` gives way to ``birth_year`` (kept beside the
    date for those who see full numbers), ``name`` and ``phone`` are None for departments."""
    shown = dict(fields)
    full = principal.sees_full_id_numbers
    number = shown.get("id_number")
    if isinstance(number, str) and not full:
        shown["id_number"] = idnumber.mask(number)
    if "birth_date" in shown:
        shown["birth_year"] = _birth_year(shown["birth_date"])
        if not full:
            shown["birth_date"] = None
    if not principal.sees_names:
        for key in CONTACT_KEYS:
            if key in shown:
                shown[key] = None
    return shown


def person_view_deep(principal: Principal, value: Any) -> Any:
    """``person_view`` on every mapping inside ``value`` (audit entries nest members in lists)."""
    if isinstance(value, list):
        return [person_view_deep(principal, v) for v in value]
    if not isinstance(value, Mapping):
        return value
    return person_view(principal, {k: person_view_deep(principal, v) for k, v in value.items()})


# ---- the same rule in SQL, for the paths that stream rows straight out of PostgreSQL ----


def id_number_sql(principal: Principal, column: str) -> str:
    """``column`` (text) as ``principal`` may see it."""
    return column if principal.sees_full_id_numbers else idnumber.mask_sql(column)


def birth_date_sql(principal: Principal, column: str) -> str:
    """A ``date`` column as text: ``YYYY-MM-DD``, or the year alone for masked readers."""
    return f"to_char({column}, {'YYYY-MM-DD' if principal.sees_full_id_numbers else 'YYYY'!r})"


def contact_jsonb_sql(principal: Principal, column: str) -> str:
    """A ``jsonb`` household snapshot ``column`` as ``principal`` may see it: a null phone
    for roles that see no names (as GET shows it); ``column`` itself when nothing is hidden."""
    return column if principal.sees_names else f"({column} || '{{\"phone\": null}}')"


def person_jsonb_sql(principal: Principal, column: str) -> str:
    """A ``jsonb`` person snapshot ``column`` as ``principal`` may see it (the change feed's
    member ``data``); ``column`` itself when nothing is hidden."""
    value = column
    if not principal.sees_names:
        # Null, not absent: GET shows a hidden name as null.
        value = f"({value} || '{{\"name\": null}}')"
    if not principal.sees_full_id_numbers:
        number = f"({column}->>'id_number')"
        value = (
            f"({value} || jsonb_build_object("
            f"'id_number', CASE WHEN length({number}) = 18 THEN {idnumber.mask_sql(number)} END, "
            f"'birth_date', NULL, "
            f"'birth_year', CAST(left({column}->>'birth_date', 4) AS integer)))"
        )
    return value
