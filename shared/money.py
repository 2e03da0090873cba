"""Money: ``Decimal`` yuan with two places, a decimal string in JSON, never a float.

A JSON number is accepted only when it is exactly representable with two places
(``12.5`` is fine, ``0.1`` as a float is not: send ``"0.10"``).
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from shared.i18n import t

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # NUMERIC(14,2)


def parse_amount(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(t('amount must be a decimal string such as "1234.50"', "amount.format"))
    if isinstance(value, float):
        exact = Decimal(value)  # the float's true binary value, not its printed form
        if exact.is_finite() and abs(exact) > MAX_AMOUNT:
            raise ValueError(t("amount is too large", "amount.too_large"))
        if not exact.is_finite() or exact != exact.quantize(CENT):
            raise ValueError(
                t(
                    "this JSON number is not exactly representable in fen; send it as a string",
                    "amount.inexact_number",
                )
            )
        value = exact
    if isinstance(value, int):
        value = Decimal(value)
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(
                t("{value} is not a decimal amount", "amount.format", value=repr(value))
            ) from None
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(t("amount must be a finite decimal", "amount.format"))
    # Size first: quantizing "1e400" would overflow the decimal context (InvalidOperation).
    if abs(value) > MAX_AMOUNT:
        raise ValueError(t("amount is too large", "amount.too_large"))
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValueError(t("amount may have at most two decimal places (fen)", "amount.precision"))
    return value.quantize(CENT)


def _non_negative(value: Any) -> Decimal:
    amount = parse_amount(value)
    if amount < 0:
        raise ValueError(t("amount may not be negative", "amount.negative"))
    return amount


def format_amount(value: Decimal) -> str:
    return f"{value.quantize(CENT):.2f}"


_schema = WithJsonSchema(
    {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,2})?$", "examples": ["1234.50"]}
)
_serializer = PlainSerializer(format_amount, return_type=str, when_used="json")

Money = Annotated[Decimal, BeforeValidator(parse_amount), _serializer, _schema]
"""Any amount, a correction may be negative."""

NonNegativeMoney = Annotated[Decimal, BeforeValidator(_non_negative), _serializer, _schema]
"""An amount that may not be negative (income, budgets, payments)."""


def split_by_weights(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split ``total`` in proportion to ``weights`` so that the parts add up to the fen.

    Each part is rounded down to the fen, then the remaining fen go one each to the parts
    with the largest rounding remainders (ties: earlier part first), the largest-remainder
    method.
    """
    weight_sum = sum(weights)
    if weight_sum <= 0:
        raise ValueError(t("weights must add up to more than zero", "amount.weights"))
    exact = [total * w / weight_sum for w in weights]
    parts = [e.quantize(CENT, rounding="ROUND_DOWN") for e in exact]
    leftover = int((total - sum(parts)) / CENT)
    order = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += CENT
    return parts
