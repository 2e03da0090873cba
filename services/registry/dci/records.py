"""A household in the standard's record shape: a social registry ``Group`` with its members
(``spdci/standards`` social_api ``SearchResponse`` example), masked for the caller by the one
masking rule (``shared.people.person_view``). Povguard's own fields travel as the standard's
extension, ``additional_attributes`` (name/value pairs)."""

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from shared.auth import Principal
from shared.people import person_view

UIN = "UIN"  # 居民身份证号码
HOUSEHOLD_ID = "HOUSEHOLD_ID"  # 户编号
RECORD_TYPE = "spdci:Group"
REGISTRY_TYPE = "ns:povguard:RegistryType:Social"

_HOUSEHOLD_EXTRA = ("region_code", "category", "poverty_causes", "relocated", "at_risk", "version")
_MEMBER_EXTRA = (
    "relation",
    "ethnicity",
    "education",
    "in_school",
    "schooling_stage",
    "health",
    "disability_grade",
    "labour_capacity",
    "migrant_work_months",
    "medical_insurance",
    "pension_insurance",
    "dibao",
    "tekun",
    "birth_year",
    "departed_on",
    "departure_reason",
    "version",
)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _attributes(row: Mapping[str, Any], names: tuple[str, ...], **more: Any) -> list[Any]:
    pairs = {**{n: row.get(n) for n in names}, **more}
    return [{"name": k, "value": _iso(v)} for k, v in pairs.items() if v is not None]


def _identifier(kind: str, value: str) -> dict[str, str]:
    return {"@type": "Identifier", "identifier_type": kind, "identifier_value": value}


def member(principal: Principal, row: Mapping[str, Any]) -> dict[str, Any]:
    shown = person_view(principal, row)
    ids = [_identifier(UIN, shown["id_number"])]
    person: dict[str, Any] = {
        "@type": "SRPerson",
        "identifier": ids,
        "sex": shown["sex"],
        "birth_date": _iso(shown["birth_date"]),
    }
    if shown.get("name"):
        # A Chinese name is one string (a surname may be two characters): it is not split.
        person["name"] = {"@type": "Name", "full_name": shown["name"]}
    return {
        "@type": "spdci:Member",
        "@id": f"urn:povguard:member:{row['id']}",
        "member_identifier": ids,
        "demographic_info": person,
        "is_disabled": bool(row.get("disability_grade")),
        "relationship_head": row.get("relation"),
        "registration_date": _iso(row.get("created_at")),
        "last_updated": _iso(row.get("updated_at")),
        "additional_attributes": _attributes(
            shown, _MEMBER_EXTRA, resident=row.get("departed_on") is None
        ),
    }


def group(
    principal: Principal, household: Mapping[str, Any], members: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The household as the standard's ``Group``; departed members stay listed (marked by
    ``resident: false``), the size counts residents."""
    listed = [member(principal, m) for m in members]
    head = next((r for r, m in zip(listed, members, strict=True) if m["relation"] == "head"), None)
    shown = person_view(principal, household)
    record: dict[str, Any] = {
        "@type": RECORD_TYPE,
        "@id": f"urn:povguard:household:{household['id']}",
        "group_identifier": [_identifier(HOUSEHOLD_ID, household["household_no"])],
        "group_type": "household",
        "place": {"@type": "Place", "address": shown.get("address") or ""},
        "group_size": sum(1 for m in members if m.get("departed_on") is None),
        "member_list": listed,
        "registration_date": _iso(household.get("created_at")),
        "last_updated": _iso(household.get("updated_at")),
        "additional_attributes": _attributes(
            shown, _HOUSEHOLD_EXTRA, household_uuid=str(household["id"])
        ),
    }
    if head is not None:
        record["group_head_info"] = head
    return record
