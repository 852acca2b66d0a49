"""Largest-remainder allocation of money in the currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from plugin.core.model import minor_unit
from plugin.core.split import _split_two, allocate
from tests.examples import properties

D = Decimal


@pytest.mark.parametrize(
    ("amount", "weights", "currency", "expected"),
    [
        ("10.00", (2, 1), "USD", ("6.67", "3.33")),
        ("10.00", (1, 2), "USD", ("3.33", "6.67")),
        ("0.01", (1, 1), "USD", ("0.01", "0.00")),  # tie goes to the first part
        ("0.02", (1, 1, 1), "USD", ("0.01", "0.01", "0.00")),
        ("100.00", (1, 1, 1), "EUR", ("33.34", "33.33", "33.33")),
        ("1000", (2, 1), "JPY", ("667", "333")),
        ("1000", (1, 2), "JPY", ("333", "667")),
        ("10.000", (1, 2), "KWD", ("3.333", "6.667")),
        ("-10.00", (2, 1), "USD", ("-6.67", "-3.33")),
        ("10.005", (1, 1), "USD", ("5.005", "5.00")),  # sub-cent residue stays on the first part
        ("0.00", (3, 4), "USD", ("0.00", "0.00")),
        ("7.00", (0, 5), "USD", ("0.00", "7.00")),
    ],
)
def test_allocate(
    amount: str, weights: tuple[int, ...], currency: str, expected: tuple[str, ...]
) -> None:
    parts = allocate(D(amount), weights, minor_unit(currency))
    assert parts == tuple(D(e) for e in expected)
    assert sum(parts) == D(amount)


@pytest.mark.parametrize("weights", [(), (0, 0), (1, -1)])
def test_allocate_refuses_meaningless_weights(weights: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="weights"):
        allocate(D("1.00"), weights, D("0.01"))


@pytest.mark.parametrize(
    ("currency", "unit"),
    [("USD", "0.01"), ("jpy", "1"), ("KWD", "0.001"), ("EUR", "0.01"), ("CLP", "1")],
)
def test_minor_units(currency: str, unit: str) -> None:
    assert minor_unit(currency) == D(unit)


@properties(1000)
@given(
    st.integers(-(10**9), 10**9),
    st.integers(0, 50),
    st.integers(0, 50),
    st.sampled_from([0, -2, -3]),
)
def test_fast_two_part_split_matches_allocate(
    units: int, keep: int, moved: int, exponent: int
) -> None:
    assume(keep + moved > 0)
    amount = Decimal(units).scaleb(exponent)
    unit = Decimal(1).scaleb(exponent)
    assert _split_two(amount, keep, moved, exponent, unit) == allocate(amount, (keep, moved), unit)


@properties(1000)
@given(
    st.decimals("-1000", "1000", places=5),
    st.lists(st.integers(0, 30), min_size=1, max_size=6),
    st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_allocate_conserves_and_stays_within_one_unit_of_exact(
    amount: Decimal, weights: list[int], currency: str
) -> None:
    assume(sum(weights) > 0)
    unit = minor_unit(currency)
    parts = allocate(amount, tuple(weights), unit)
    assert sum(parts) == amount
    base = abs(amount).quantize(unit, rounding=ROUND_DOWN)
    for i, (part, weight) in enumerate(zip(parts, weights, strict=True)):
        share = abs(part) - (abs(amount) - base if i == 0 else 0)
        exact = base * weight / sum(weights)
        assert abs(share - exact) < unit
        assert share % unit == 0
