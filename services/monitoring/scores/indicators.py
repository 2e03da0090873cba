"""The indicators a scorecard may use: each a name, what it measures, the SQL expression that
computes it over the monitoring projection, and the range of its values (which a scorecard's
bins must cover). ``INDICATORS`` is the one registry: the scorecard's validation, the scan's
scoring statement (``scores/repository.py``) and the API's documentation all read it.

Each expression yields a ``float8`` (cheap to compute and bin over a million households),
or NULL where the household has no figure. The expressions read, per household of a scan's ``scope`` (``s``): ``e`` / ``p`` the
economics of the scan's year and the year before, ``m`` its resident members' counts,
``g`` the guarantees checked not ok, ``x`` its department shock signals of 12 months."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Indicator:
    name: str
    summary: str
    sql: str
    lower: Decimal | None  # the least value it takes (None: unbounded)
    upper: Decimal | None  # the largest (inclusive; None: unbounded)


_ZERO, _ONE = Decimal(0), Decimal(1)


def _guarantee(kind: str, summary: str, extra: str = "") -> Indicator:
    return Indicator(
        f"guarantee_{kind}",
        f"1 when {summary} is checked not met, else 0",
        f"(coalesce(g.{kind}, false){extra})::int",
        _ZERO,
        _ONE,
    )


INDICATORS: dict[str, Indicator] = {
    i.name: i
    for i in (
        Indicator(
            "income_to_line",
            "per-capita net income over the monitoring line (1 = on the line), 人均纯收入/监测线",
            "e.per_capita_net_income::float8 / nullif(CAST(:line AS numeric)::float8, 0)",
            None,
            None,
        ),
        Indicator(
            "income_change",
            "change of per-capita net income on the year before (-0.3 = fell by 30 %), 收入变化",
            "CASE WHEN p.per_capita_net_income > 0 "
            "THEN e.per_capita_net_income::float8 / p.per_capita_net_income::float8 - 1 END",
            None,  # a negative income falls by more than 100 %
            None,
        ),
        Indicator(
            "rigid_expense_share",
            "rigid expenses over net income (income under 1 yuan counts as 1), 刚性支出占比",
            "e.rigid_expenses::float8 / greatest(e.net_income::float8, 1)",
            _ZERO,
            None,
        ),
        _guarantee("food_clothing", "不愁吃、不愁穿"),
        _guarantee(
            "compulsory_education",
            "义务教育 (or a resident child of 6-15 is out of school)",
            " OR coalesce(m.out_of_school, false)",
        ),
        _guarantee(
            "basic_medical",
            "基本医疗 (or a resident member has no basic medical insurance)",
            " OR coalesce(m.uninsured, false)",
        ),
        _guarantee("housing_safety", "住房安全"),
        _guarantee("drinking_water", "饮水安全"),
        Indicator(
            "able_to_work",
            "resident members able to work (skilled, ordinary or weak), 劳动力人数",
            "coalesce(m.workers, 0)",
            _ZERO,
            None,
        ),
        Indicator(
            "dependants_share",
            "resident members under 16 or 65 and over, over all resident members, 负担人口占比",
            "m.dependants::float8 / nullif(m.resident, 0)",
            _ZERO,
            _ONE,
        ),
        Indicator(
            "ill_or_disabled",
            "resident members with a chronic or serious illness or a disability, 因病因残",
            "coalesce(m.ill, 0)",
            _ZERO,
            None,
        ),
        Indicator(
            "shock_signals",
            "department signals of a shock in the last 12 months (disaster, accident, death, "
            "job loss, dropout, dangerous housing), 部门预警",
            "coalesce(x.shocks, 0)",
            _ZERO,
            None,
        ),
        Indicator(
            "relocated",
            "1 for a relocated household (易地扶贫搬迁), else 0",
            "s.relocated::int",
            _ZERO,
            _ONE,
        ),
    )
}


def described() -> str:
    """Every indicator and what it measures, for the API's documentation."""
    return "; ".join(f"`{i.name}`: {i.summary}" for i in INDICATORS.values())
