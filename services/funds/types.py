"""Field types the funds schemas share."""

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator

from shared.i18n import t
from shared.money import NonNegativeMoney


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError(t("amount must be more than zero", "amount.not_positive"))
    return value


PositiveMoney = Annotated[NonNegativeMoney, AfterValidator(_positive)]
"""An amount above zero (funds, allocations, payments, income)."""
