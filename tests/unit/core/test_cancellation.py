"""Cancelling all or some units of one backorder line (`plugin/core/cancellation.py`): which
write the store gets, and the money of the units cancelled and kept, to the minor unit."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.core.cancellation import CancelError, CancelWrite, plan_line_cancel
from plugin.core.model import Amounts, Line, minor_unit
from tests.examples import properties
from tests.unit.core.builders import line

EXAMPLES = properties(500)


def kettles(quantity: int = 3) -> Line:
    # 3 kettles at 10.00 with 10% tax, 1.00 discount: total 29.00, tax 2.90.
    return line("21", "7", quantity, "30.00", "3.00", "29.00", "2.90")


def test_some_units_reduce_the_line_and_split_its_money_to_the_cent() -> None:
    cancel = plan_line_cancel(kettles(), 1, other_lines=0, currency="USD")
    assert cancel.write is CancelWrite.REDUCE_LINE
    assert (cancel.cancelled_units, cancel.kept_units) == (1, 2)
    assert cancel.cancelled == Amounts(
        Decimal("10.00"), Decimal("1.00"), Decimal("9.67"), Decimal("0.97")
    )
    assert cancel.kept == Amounts(
        Decimal("20.00"), Decimal("2.00"), Decimal("19.33"), Decimal("1.93")
    )
    assert cancel.amount == Decimal("10.64")  # what the customer paid for the unit, tax included


def test_every_unit_removes_the_line_or_cancels_the_order_when_it_is_the_only_line() -> None:
    removed = plan_line_cancel(kettles(), 3, other_lines=1, currency="USD")
    assert removed.write is CancelWrite.REMOVE_LINE
    assert (removed.cancelled_units, removed.kept_units) == (3, 0)
    assert removed.amount == Decimal("31.90")
    assert removed.kept == Amounts(Decimal(0), Decimal(0), Decimal(0), Decimal(0))
    whole = plan_line_cancel(kettles(), None, other_lines=0, currency="USD")
    assert whole.write is CancelWrite.CANCEL_ORDER
    assert whole.cancelled_units == 3


def test_some_units_of_the_only_line_keep_the_order() -> None:
    cancel = plan_line_cancel(kettles(2), 1, other_lines=0, currency="USD")
    assert cancel.write is CancelWrite.REDUCE_LINE
    assert cancel.kept_units == 1


def test_a_currency_without_cents_splits_in_whole_units() -> None:
    cancel = plan_line_cancel(line("21", "7", 3, "1000", total="1000"), 1, other_lines=0,
                              currency="JPY")  # fmt: skip
    assert cancel.cancelled.total == Decimal("333")
    assert cancel.kept.total == Decimal("667")


@pytest.mark.parametrize(
    ("units", "reason"),
    [(0, "units_too_few"), (-1, "units_too_few"), (4, "units_too_many"), (True, "units_invalid")],
)
def test_impossible_unit_counts_are_refused_with_a_reason(units: int, reason: str) -> None:
    with pytest.raises(CancelError) as refused:
        plan_line_cancel(kettles(), units, other_lines=1, currency="USD")
    assert refused.value.reason == reason
    assert "3" in str(refused.value)  # says how many units the line has


LINES = st.builds(
    lambda quantity, cents, tax_cents, discount: line(
        "21",
        "7",
        quantity,
        str(Decimal(cents) / 100),
        str(Decimal(tax_cents) / 100),
        str(Decimal(max(cents - discount, 0)) / 100),
        str(Decimal(tax_cents) / 100),
    ),
    st.integers(1, 40),
    st.integers(0, 10_000_000),
    st.integers(0, 2_000_000),
    st.integers(0, 500_000),
)


@EXAMPLES
@given(LINES, st.data(), st.integers(0, 3))
def test_units_and_money_are_conserved_and_shared_by_units(
    original: Line, data: st.DataObject, other_lines: int
) -> None:
    units = data.draw(st.integers(1, original.quantity))
    cancel = plan_line_cancel(original, units, other_lines=other_lines, currency="USD")
    assert cancel.cancelled_units == units
    assert cancel.cancelled_units + cancel.kept_units == original.quantity
    whole = (original.subtotal, original.subtotal_tax, original.total, original.tax)
    for field, amount, kept, cancelled in zip(
        Amounts._fields, whole, cancel.kept, cancel.cancelled, strict=True
    ):
        assert kept + cancelled == amount, field
        assert kept >= 0 and cancelled >= 0, field
        # Each part is its units' share, off by less than one cent.
        assert abs(cancelled * original.quantity - amount * units) < minor_unit("USD") * (
            original.quantity
        ), field
    assert cancel.amount == cancel.cancelled.total + cancel.cancelled.tax
    if units < original.quantity:
        assert cancel.write is CancelWrite.REDUCE_LINE
    elif other_lines:
        assert cancel.write is CancelWrite.REMOVE_LINE
    else:
        assert cancel.write is CancelWrite.CANCEL_ORDER


@EXAMPLES
@given(LINES, st.integers(-5, 50))
def test_a_count_outside_one_to_the_lines_units_is_always_refused(
    original: Line, units: int
) -> None:
    if 1 <= units <= original.quantity:
        assert plan_line_cancel(original, units, other_lines=1, currency="USD").cancelled_units
    else:
        with pytest.raises(CancelError):
            plan_line_cancel(original, units, other_lines=1, currency="USD")


def test_the_value_of_some_units_is_their_share_of_total_and_tax_to_the_cent() -> None:
    from plugin.core.cancellation import units_value

    assert units_value(Decimal("10.00"), Decimal("1.00"), 3, 1, "USD") == Decimal("3.66")
    assert units_value(Decimal("10.00"), Decimal("1.00"), 3, 3, "USD") == Decimal("11.00")
    assert units_value(Decimal("1000"), Decimal("0"), 3, 1, "JPY") == Decimal("333")


@EXAMPLES
@given(LINES, st.data())
def test_a_line_after_cancels_is_what_plan_line_cancel_leaves_one_after_another(
    original: Line, data: st.DataObject
) -> None:
    from plugin.core.cancellation import after_cancels, units_value

    counts: list[int] = []
    current = original
    while current.quantity > 1 and data.draw(st.booleans()):
        units = data.draw(st.integers(1, current.quantity - 1))
        value = units_value(current.total, current.tax, current.quantity, units, "USD")
        cancel = plan_line_cancel(current, units, other_lines=1, currency="USD")
        assert value == cancel.amount
        counts.append(units)
        current = dataclasses.replace(
            current, quantity=cancel.kept_units, subtotal=cancel.kept.subtotal,
            subtotal_tax=cancel.kept.subtotal_tax, total=cancel.kept.total, tax=cancel.kept.tax,
        )  # fmt: skip
    assert after_cancels(original.total, original.tax, original.quantity, counts, "USD") == (
        current.total,
        current.tax,
        current.quantity,
    )
