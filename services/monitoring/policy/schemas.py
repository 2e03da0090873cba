from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.i18n import t
from shared.money import NonNegativeMoney

RULES = (
    "income_below_line",
    "income_drop",
    "rigid_expense",
    "guarantee_lost",
    "labour_loss",
    "medical_expense",
    "department_signal",
    "eligibility_anomaly",
)

Ratio = Annotated[Decimal, Field(ge=0, le=1, max_digits=5, decimal_places=4)]


class PolicyWrite(BaseModel):
    """``PUT /v1/policy/{year}``: the year's figures for a province or a county override."""

    monitoring_line: NonNegativeMoney = Field(description="Yuan per person per year, e.g. 6000.00")
    income_drop_ratio: Ratio = Decimal("0.30")
    rigid_expense_ratio: Ratio = Decimal("0.50")
    medical_expense_threshold: NonNegativeMoney = Decimal("5000.00")
    medical_expense_threshold_other: NonNegativeMoney = Decimal("20000.00")
    notice_days: int = Field(default=5, ge=1, le=60)
    identification_deadline_days: int = Field(default=15, ge=1, le=365)
    min_months_before_elimination: int = Field(default=6, ge=0, le=60)
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
    model_config = ConfigDict(from_attributes=True)

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
