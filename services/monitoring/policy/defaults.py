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
