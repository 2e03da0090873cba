"""The defaults of every figure of a monitoring policy (监测标准), in one place.

The figures themselves live in the policy table per region and year (``monitoring.policies``);
these are what ``PUT /v1/policy/{year}`` fills in when the operator leaves a figure out
(domain.md sections 3 and 8). No code reads a default in place of a policy: without a policy
row nothing is judged. Migration 0002 shipped Guizhou 2021 with these values and 0015
backfilled the clocks it added. Which figures each rule reads is on the rule itself
(``alerts/rules.py``, ``Rule.figures``); the case clocks are read in ``cases/deadlines.py``
(the notice in ``cases/actions.py``, the stable period in ``cases/elimination.py``).
"""

from decimal import Decimal

# The rules' thresholds. The monitoring line (income_below_line, yuan per person per year)
# has no default: each year's is set by the province, or a county, on purpose.
INCOME_DROP_RATIO = Decimal("0.30")  # income_drop: fell by more than this share of last year
RIGID_EXPENSE_RATIO = Decimal("0.50")  # rigid_expense: over this share of the net income
# medical_expense: out-of-pocket cost in 12 months at or over this, for 脱贫户 and 监测户 ...
MEDICAL_EXPENSE_THRESHOLD = Decimal("5000.00")
# ... and for every other household.
MEDICAL_EXPENSE_THRESHOLD_OTHER = Decimal("20000.00")

# The case clocks (domain.md section 3).
NOTICE_DAYS = 5  # a public notice (公示) lasts at least this many days
IDENTIFICATION_DEADLINE_DAYS = 15  # discovery to the county's decision
FIRST_MEASURE_DAYS = 30  # from the decision to the first development-type measure
ELIMINATION_DECISION_DAYS = 15  # from an elimination proposal to the county's decision
MIN_MONTHS_BEFORE_ELIMINATION = 6  # monitored at least this long before elimination

# The default risk scorecard (风险评分卡), what ``PUT /v1/scorecards/{year}`` fills in when the
# operator leaves the indicators out, and what a scan scores with where no scorecard is set
# (version 0). Each indicator: (name, weight, bins), a bin (lower, upper, points) holding
# lower <= value < upper (None: unbounded); points run 0 (no risk) to 100; the weights add up
# to 1, so a score runs 0 to 100. The indicators and what they measure are in
# ``scores/indicators.py``. Why these figures:
# - Income against the line carries the most (0.25): it is the test of 返贫致贫 itself; a
#   household under the line scores full, one within 10 % above it most, within 50 % some.
# - A fall of income (0.10) and rigid expenses' share (0.10) are the usual way into the line
#   (收入骤减, 支出骤增): the same thresholds as the rules' defaults (30 %, 50 %) score full,
#   half of them half.
# - Each guarantee (两不愁三保障及饮水安全) not met scores full, 0.04 each (0.20 in all): one
#   lost guarantee alone is a case (rule guarantee_lost), so the score ranks among them.
# - Labour (0.10): nobody able to work is the 缺劳动力 rule; one worker alone is fragile.
# - Dependants' share (0.05): children under 16 and people 65 and over per resident member.
# - Chronic illness, serious illness or disability (0.08): the 因病因残 risk, by members.
# - Department signals of a shock in the last 12 months (0.07): disaster, accident, death,
#   job loss, dropout, dangerous housing.
# - Relocation (易地扶贫搬迁, 0.05): relocated households are followed up for livelihood.
_INCOME_BINS = ((None, "1.0", 100), ("1.0", "1.1", 70), ("1.1", "1.5", 30), ("1.5", None, 0))
_CHANGE_BINS = ((None, "-0.3", 100), ("-0.3", "-0.1", 50), ("-0.1", None, 0))
_RIGID_BINS = ((None, "0.3", 0), ("0.3", "0.5", 50), ("0.5", None, 100))
_FLAG_BINS = ((None, "1", 0), ("1", None, 100))
SCORECARD: tuple[tuple[str, str, tuple[tuple[str | None, str | None, int], ...]], ...] = (
    ("income_to_line", "0.25", _INCOME_BINS),
    ("income_change", "0.10", _CHANGE_BINS),
    ("rigid_expense_share", "0.10", _RIGID_BINS),
    ("guarantee_food_clothing", "0.04", _FLAG_BINS),
    ("guarantee_compulsory_education", "0.04", _FLAG_BINS),
    ("guarantee_basic_medical", "0.04", _FLAG_BINS),
    ("guarantee_housing_safety", "0.04", _FLAG_BINS),
    ("guarantee_drinking_water", "0.04", _FLAG_BINS),
    ("able_to_work", "0.10", ((None, "1", 100), ("1", "2", 50), ("2", None, 0))),
    ("dependants_share", "0.05", ((None, "0.5", 0), ("0.5", "0.75", 50), ("0.75", None, 100))),
    ("ill_or_disabled", "0.08", ((None, "1", 0), ("1", "2", 60), ("2", None, 100))),
    ("shock_signals", "0.07", ((None, "1", 0), ("1", "2", 70), ("2", None, 100))),
    ("relocated", "0.05", _FLAG_BINS),
)
