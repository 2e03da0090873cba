from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import ConfigDict, Field, field_validator

from services.monitoring.alerts.rules import RULES
from services.monitoring.policy import defaults
from shared.i18n import t
from shared.money import NonNegativeMoney
from shared.request_model import RequestModel

Ratio = Annotated[Decimal, Field(ge=0, le=1, max_digits=5, decimal_places=4)]


class PolicyWrite(RequestModel):
    """``PUT /v1/policy/{year}``: the year's figures for a province or a county override."""

    monitoring_line: NonNegativeMoney = Field(description="Yuan per person per year, e.g. 6000.00")
    income_drop_ratio: Ratio = defaults.INCOME_DROP_RATIO
    rigid_expense_ratio: Ratio = defaults.RIGID_EXPENSE_RATIO
    medical_expense_threshold: NonNegativeMoney = defaults.MEDICAL_EXPENSE_THRESHOLD
    medical_expense_threshold_other: NonNegativeMoney = defaults.MEDICAL_EXPENSE_THRESHOLD_OTHER
    notice_days: int = Field(default=defaults.NOTICE_DAYS, ge=1, le=60)
    identification_deadline_days: int = Field(
        default=defaults.IDENTIFICATION_DEADLINE_DAYS, ge=1, le=365
    )
    first_measure_days: int = Field(
        default=defaults.FIRST_MEASURE_DAYS,
        ge=1,
        le=365,
        description="Days from the county's decision to the first development-type measure",
    )
    elimination_decision_days: int = Field(
        default=defaults.ELIMINATION_DECISION_DAYS,
        ge=1,
        le=365,
        description="Days from an elimination proposal to the county's decision",
    )
    min_months_before_elimination: int = Field(
        default=defaults.MIN_MONTHS_BEFORE_ELIMINATION, ge=0, le=60
    )
    rules: dict[str, bool] = Field(default_factory=dict, description="{rule name: on/off}")

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(value) - set(RULES))
        if unknown:
            raise ValueError(
                t(
                    "unknown rules {unknown}; known: {known}",
                    "policy.unknown_rule",
                    unknown=unknown,
                    known=list(RULES),
                )
            )
        return {name: value.get(name, True) for name in RULES}


class PolicyRead(PolicyWrite):
    model_config = ConfigDict(from_attributes=True, extra="ignore")  # an answer may grow

    id: UUID
    region_code: str = Field(description="Where this policy was set (the province or a county)")
    year: int
    version: int
    income_drop_ratio: float  # type: ignore[assignment]
    rigid_expense_ratio: float  # type: ignore[assignment]
    status: str = Field(
        description="active (in force) | pending (a county's loosening, awaiting the "
        "province) | superseded (replaced; cases opened under it keep it) | refused"
    )
    requested_by: str | None
    decided_by: str | None = Field(description="The province account that approved or refused")
    loosens: list[str] = Field(
        description="What a county override relaxes against the province's policy"
    )
