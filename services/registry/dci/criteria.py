"""What a search's criteria and a subscription's filter ask for, checked and turned into the
repository's conditions. A fault names the standard's reason code (``rjct.*``)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.registry.dci.errors import Rejected
from services.registry.dci.records import HOUSEHOLD_ID, UIN
from services.registry.dci.repository import SORTABLE, Clause, Condition, birth_window
from shared import idnumber, regions
from shared.auth import Principal
from shared.contracts.registry import HouseholdCategory
from shared.i18n import t

CRITERIA = "rjct.search_criteria.invalid"
OPERATORS = frozenset({"eq", "gt", "lt", "ge", "le", "in"})
ORDERED = frozenset({"eq", "gt", "lt", "ge", "le"})
SEARCH_ATTRIBUTES = frozenset({"region_code", "category", "last_updated", "age", UIN, HOUSEHOLD_ID})
MAX_VALUES = 1000


@dataclass(frozen=True)
class Search:
    clauses: list[Clause]
    sort: list[tuple[str, str]]
    page_size: int
    page_number: int


def _bad(reason_code: str, message: Any) -> Rejected:
    return Rejected(reason_code, message)


def strings(value: Any, operator: str, reason: str) -> list[str]:
    values = value if operator == "in" else [value]
    if (
        not isinstance(values, list)
        or not values
        or len(values) > MAX_VALUES
        or not all(isinstance(v, str) and v for v in values)
    ):
        raise _bad(reason, t("the value must be a string, or a list of them for `in`", "dci.value"))
    return values


def identifiers(kind: str, values: list[str], reason: str) -> list[str]:
    if kind == HOUSEHOLD_ID:
        return values
    try:
        return [idnumber.normalize(v) for v in values if idnumber.parse(v)]
    except ValueError:
        raise _bad(reason, t("not a valid ID number (居民身份证号码)", "dci.uin")) from None


def region(principal: Principal, code: Any, reason: str) -> str:
    if not isinstance(code, str) or not regions.is_valid_code(code):
        raise _bad(reason, t("region_code must be a 12-digit region code", "dci.region_code"))
    prefix = regions.prefix_of(code)
    if not prefix.startswith(principal.region_prefix):
        raise _bad(reason, t("region_code is outside your region", "dci.region_scope"))
    return prefix


def categories(values: list[str], reason: str) -> list[str]:
    allowed = {c.value for c in HouseholdCategory}
    if not set(values) <= allowed:
        raise _bad(
            reason,
            t("category is one of {allowed}", "dci.category", allowed=", ".join(sorted(allowed))),
        )
    return values


def _age_window(operator: str, value: Any) -> tuple[int | None, int | None]:
    if operator not in ORDERED or isinstance(value, bool) or not isinstance(value, int):
        raise _bad(CRITERIA, t("age takes eq, gt, ge, lt or le and a whole number", "dci.age"))
    return {
        "eq": (value, value),
        "ge": (value, None),
        "gt": (value + 1, None),
        "le": (None, value),
        "lt": (None, value - 1),
    }[operator]


def _datetime(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _bad(
            CRITERIA,
            t("last_updated must be an ISO 8601 time with its time zone", "dci.last_updated"),
        )
    return parsed


def _condition(principal: Principal, expression: Any, today: date) -> Condition:
    if not isinstance(expression, Mapping):
        raise _bad(CRITERIA, t("an expression is an object", "dci.expression"))
    name, operator = expression.get("attribute_name"), expression.get("operator")
    value = expression.get("attribute_value")
    if name not in SEARCH_ATTRIBUTES or operator not in OPERATORS:
        raise _bad(
            CRITERIA,
            t(
                "attribute_name is one of {names}, operator one of {operators}",
                "dci.attribute",
                names=", ".join(sorted(SEARCH_ATTRIBUTES)),
                operators=", ".join(sorted(OPERATORS)),
            ),
        )
    if name == "age":
        low, high = _age_window(operator, value)
        return Condition("birth_date", "between", birth_window(today, low, high))
    if name == "last_updated":
        if operator not in ORDERED:
            raise _bad(CRITERIA, t("last_updated takes eq, gt, ge, lt or le", "dci.last_updated"))
        return Condition(name, operator, _datetime(value))
    values = strings(value, operator, CRITERIA)
    if name == "region_code":
        return Condition(name, "in", [region(principal, v, CRITERIA) for v in values])
    if name == "category":
        return Condition(name, "in", categories(values, CRITERIA))
    return Condition(name, "in", identifiers(name, values, CRITERIA))


def _merge_ages(clauses: list[Clause]) -> list[Clause]:
    """Age conditions joined by ``and`` at the top level are one range of one member's age
    (``age ge 60`` and ``age le 70``: someone aged 60 to 70), not two members."""
    ages = [c for c in clauses if c.second is None and c.first.attribute == "birth_date"]
    if len(ages) < 2:
        return clauses
    earliest = max((c.first.value[0] for c in ages if c.first.value[0]), default=None)
    latest = min((c.first.value[1] for c in ages if c.first.value[1]), default=None)
    merged = Clause(Condition("birth_date", "between", (earliest, latest)))
    return [c for c in clauses if c not in ages] + [merged]


def predicate(principal: Principal, query: Any, today: date) -> list[Clause]:
    if not isinstance(query, list) or not query or len(query) > 20:
        raise _bad(
            CRITERIA, t("a predicate query is a list of 1 to 20 expressions", "dci.predicate")
        )
    clauses = []
    items = sorted(query, key=lambda q: q.get("seq_num", 0) if isinstance(q, Mapping) else 0)
    for item in items:
        if not isinstance(item, Mapping) or "expression1" not in item:
            raise _bad(CRITERIA, t("each item needs expression1", "dci.expression1"))
        first = _condition(principal, item["expression1"], today)
        if item.get("expression2") is None:
            clauses.append(Clause(first))
            continue
        join = item.get("condition", "and")
        if join not in ("and", "or", "not"):
            raise _bad(CRITERIA, t("condition is and, or or not", "dci.condition"))
        clauses.append(Clause(first, join, _condition(principal, item["expression2"], today)))
    return _merge_ages(clauses)


def idtype_value(query: Any, reason: str = CRITERIA) -> Condition:
    if not isinstance(query, Mapping) or query.get("type") not in (UIN, HOUSEHOLD_ID):
        raise _bad(reason, t("the identifier type is UIN or HOUSEHOLD_ID", "dci.id_type"))
    kind = str(query["type"])
    return Condition(
        kind, "in", identifiers(kind, strings(query.get("value"), "eq", reason), reason)
    )


def _sort(sort: Any) -> list[tuple[str, str]]:
    if sort is None:
        return []
    if not isinstance(sort, list) or len(sort) > len(SORTABLE):
        raise _bad("rjct.sort.invalid", t("sort is a list", "dci.sort"))
    order = []
    for item in sort:
        name = item.get("attribute_name") if isinstance(item, Mapping) else None
        direction = item.get("sort_order", "asc") if isinstance(item, Mapping) else None
        if name not in SORTABLE or direction not in ("asc", "desc"):
            raise _bad(
                "rjct.sort.invalid",
                t("sort by {names}, asc or desc", "dci.sort_by", names=", ".join(sorted(SORTABLE))),
            )
        order.append((str(name), str(direction)))
    return order


def _page(pagination: Any, largest: int) -> tuple[int, int]:
    if pagination is None:
        return largest, 1
    size = pagination.get("page_size") if isinstance(pagination, Mapping) else None
    number = pagination.get("page_number", 1) if isinstance(pagination, Mapping) else None
    if not all(isinstance(v, int | float) and v == int(v) for v in (size, number)):
        raise _bad(
            "rjct.pagination.invalid", t("page_size and page_number are whole numbers", "dci.page")
        )
    size, number = int(size), int(number)  # type: ignore[arg-type]
    if not 1 <= size <= largest or not 1 <= number <= 100_000:
        raise _bad(
            "rjct.pagination.invalid",
            t("page_size is 1 to {largest}, page_number from 1", "dci.page_size", largest=largest),
        )
    return size, number


def search(principal: Principal, criteria: Any, largest_page: int, today: date) -> Search:
    """A search request's ``search_criteria`` (query_type ``idtype-value`` or ``predicate``)."""
    if not isinstance(criteria, Mapping):
        raise _bad(CRITERIA, t("search_criteria is an object", "dci.criteria"))
    query_type, query = criteria.get("query_type"), criteria.get("query")
    if query_type == "idtype-value":
        clauses = [Clause(idtype_value(query))]
    elif query_type == "predicate":
        clauses = predicate(principal, query, today)
    else:
        raise _bad(CRITERIA, t("query_type is idtype-value or predicate", "dci.query_type"))
    size, number = _page(criteria.get("pagination"), largest_page)
    return Search(clauses, _sort(criteria.get("sort")), size, number)
