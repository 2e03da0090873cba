from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from shared import regions
from shared.money import Money, NonNegativeMoney, split_by_weights


class Payment(BaseModel):
    amount: NonNegativeMoney
    correction: Money = Decimal(0)


def test_money_is_a_decimal_string_in_json() -> None:
    payment = Payment(amount="1234.5")
    assert payment.amount == Decimal("1234.50")
    assert payment.model_dump(mode="json") == {"amount": "1234.50", "correction": "0.00"}


def test_exact_json_numbers_are_accepted_and_inexact_refused() -> None:
    assert Payment(amount=12.25).amount == Decimal("12.25")
    with pytest.raises(ValidationError, match="not exactly representable"):
        Payment(amount=0.1)


@pytest.mark.parametrize("bad", ["1.234", "-1", "abc", "NaN", True])
def test_bad_amounts_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        Payment(amount=bad)


def test_split_adds_up_to_the_fen_and_gives_remainders_to_largest_fractions() -> None:
    parts = split_by_weights(Decimal("100.00"), [Decimal(1), Decimal(1), Decimal(1)])
    assert parts == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    parts = split_by_weights(
        Decimal("10.00"),
        [Decimal("0.1"), Decimal("0.3"), Decimal("0.3"), Decimal("0.05"), Decimal("0.25")],
    )
    assert sum(parts) == Decimal("10.00")


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("520000000000", "province", None),
        ("522300000000", "city", "520000000000"),
        ("522301000000", "county", "522300000000"),
        ("522301100000", "township", "522301000000"),
        ("522301100001", "village", "522301100000"),
    ],
)
def test_region_level_and_parent_follow_from_the_code(
    code: str, level: str, parent: str | None
) -> None:
    assert regions.level_of(code) == level
    assert regions.parent_of(code) == parent


def test_region_containment_uses_the_significant_prefix() -> None:
    assert regions.contains("522301000000", "522301100001")
    assert not regions.contains("522301100001", "522301100002")
    assert not regions.is_valid_code("5223")
