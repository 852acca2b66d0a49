"""Splitting a partly released backorder order again: quantities, money, numbering, key."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.core.model import (
    Links,
    Outcome,
    PaymentAction,
    PaymentState,
    Status,
    StoreSettings,
)
from plugin.core.split import next_backorder_seq, plan_resplit, resplit_key
from tests.examples import properties
from tests.unit.core.builders import line, order

BACKORDER_LINKS = Links(parent_id="1042", is_backorder_order=True)


def backorder(*lines, payment_state=PaymentState.PAID, shipping="0"):  # type: ignore[no-untyped-def]
    return order(
        *lines,
        status=Status.NEW_BACKORDER,
        payment_state=payment_state,
        shipping=shipping,
        links=BACKORDER_LINKS,
        order_id="2001",
        number="2001",
    )


def test_part_of_a_line_ships_and_the_rest_moves_with_its_share_of_money_and_tax() -> None:
    # 5 units at 10.00 with a 1.00 discount (total 49.00) and tax 4.90; 3 are in stock.
    b = backorder(line("9", "77", 5, "50.00", "5.00", total="49.00", tax="4.90"))

    plan = plan_resplit(
        b, {"9": 3}, original_number="1042", taken_numbers=["1042-001"], settings=StoreSettings()
    )

    assert plan.outcome is Outcome.SPLIT
    assert plan.order_id == "2001"
    assert plan.split_key == "resplit:2001"
    assert plan.backorder_number == "1042-002"
    (lp,) = plan.lines
    assert (lp.ordered, lp.keep, lp.backorder, lp.oversold) == (5, 3, 2, 0)
    kept, moved = lp.kept_amounts, lp.moved_amounts
    assert (kept.subtotal, kept.subtotal_tax, kept.total, kept.tax) == (
        Decimal("30.00"), Decimal("3.00"), Decimal("29.40"), Decimal("2.94"),
    )  # fmt: skip
    assert (moved.subtotal, moved.subtotal_tax, moved.total, moved.tax) == (
        Decimal("20.00"), Decimal("2.00"), Decimal("19.60"), Decimal("1.96"),
    )  # fmt: skip
    assert plan.original_totals is not None and plan.backorder_totals is not None
    assert plan.original_totals.total == Decimal("32.34")
    assert plan.backorder_totals.total == Decimal("21.56")
    assert plan.moved_amount == Decimal("21.56")
    assert plan.payment is PaymentAction.PAID_FROM_ORIGINAL
    assert [r.code for r in plan.reasons] == ["resplit", "payment_paid_from_original"]
    assert plan.reasons[0].message == (
        "3 of 5 units of backorder order 2001 are in stock and ship now; the other 2 move to "
        "backorder order 1042-002 and wait for stock."
    )
    assert plan.hold_original is False
    assert plan.alerts == ()


def test_whole_lines_ship_and_a_whole_waiting_line_moves_unpaid_stays_charge_on_release() -> None:
    b = backorder(
        line("9", "77", 2, "20.00"),
        line("10", "88", 4, "12.00"),
        payment_state=PaymentState.UNPAID,
        shipping="5.00",
    )

    plan = plan_resplit(
        b,
        {"9": 2, "10": 0},
        original_number="1042",
        taken_numbers=["1042-001"],
        settings=StoreSettings(additional_shipping=Decimal("3.5")),
    )

    assert [(lp.line_id, lp.keep, lp.backorder) for lp in plan.lines] == [
        ("9", 2, 0),
        ("10", 0, 4),
    ]
    assert plan.lines[0].moved_amounts.total == Decimal("0.00")
    assert plan.lines[1].kept_amounts.total == Decimal("0.00")
    assert plan.lines[1].moved_amounts.total == Decimal("12.00")
    assert plan.original_totals is not None and plan.backorder_totals is not None
    # Shipping already on the backorder order stays with what ships now.
    assert (plan.original_totals.shipping, plan.original_totals.total) == (
        Decimal("5.00"), Decimal("25.00"),
    )  # fmt: skip
    assert plan.additional_shipping == Decimal("3.50")
    assert plan.backorder_totals.total == Decimal("15.50")
    assert plan.payment is PaymentAction.CHARGE_ON_RELEASE
    assert [r.code for r in plan.reasons] == [
        "resplit", "payment_charge_on_release", "additional_shipping",
    ]  # fmt: skip
    assert plan.reasons[1].message == (
        "Not paid yet: the customer pays 25.00 USD for what ships now, and 15.50 USD for "
        "backorder order 1042-002 when it ships."
    )


def test_an_invalid_pattern_numbers_with_the_default_and_alerts() -> None:
    b = backorder(line("9", "77", 2, "20.00"))
    plan = plan_resplit(
        b,
        {"9": 1},
        original_number="1042",
        taken_numbers=["1042-001"],
        settings=StoreSettings(numbering_pattern="{number}"),
    )
    assert plan.backorder_number == "1042-002"
    assert [a.code for a in plan.alerts] == ["numbering_pattern_invalid"]


@pytest.mark.parametrize(
    ("released", "error"),
    [
        ({"9": 0}, "a re-split releases some units and leaves some waiting"),
        ({"9": 2}, "a re-split releases some units and leaves some waiting"),
        ({"9": 3}, "line 9: 3 of 2 units released"),
        ({"9": -1}, "line 9: -1 of 2 units released"),
        ({"9": 1, "11": 1}, "lines ['11'] are not on order 2001"),
    ],
)
def test_only_a_partial_release_is_split_again(released: dict[str, int], error: str) -> None:
    b = backorder(line("9", "77", 2, "20.00"))
    with pytest.raises(ValueError) as caught:
        plan_resplit(b, released, original_number="1", taken_numbers=(), settings=StoreSettings())
    assert str(caught.value) == error


@pytest.mark.parametrize(
    ("pattern", "taken", "seq"),
    [
        ("{number}-{seq:03d}", [], 1),
        ("{number}-{seq:03d}", ["1042-001"], 2),
        ("{number}-{seq:03d}", ["1042-001", "1042-002"], 3),
        # A deleted sibling (-001 gone) must not give -002 twice.
        ("{number}-{seq:03d}", ["1042-002"], 3),
        # The pattern changed after the first split: counted, and the new form is free.
        ("BO{seq}-{number}", ["1042-001"], 2),
        ("BO{seq}-{number}", ["1042-001", "BO2-1042"], 3),
        ("{number}", ["1042-001"], 2),  # invalid pattern: the default numbers it
    ],
)
def test_next_backorder_seq(pattern: str, taken: list[str], seq: int) -> None:
    assert next_backorder_seq(pattern, "1042", taken) == seq


def test_resplit_key_is_per_backorder_order() -> None:
    assert resplit_key("2001") == "resplit:2001"
    assert resplit_key("2001") != resplit_key("2002")


@properties(1000)
@given(
    st.lists(
        st.tuples(st.integers(1, 9), st.integers(0, 99_999), st.integers(0, 9_999)),
        min_size=1,
        max_size=5,
    ),
    st.data(),
)
def test_resplit_conserves_units_and_money(
    specs: list[tuple[int, int, int]], data: st.DataObject
) -> None:
    lines = [
        line(str(i), str(100 + i), qty, f"{cents / 100:.2f}", f"{tax / 100:.2f}")
        for i, (qty, cents, tax) in enumerate(specs)
    ]
    released = {str(i): data.draw(st.integers(0, qty)) for i, (qty, _c, _t) in enumerate(specs)}
    total_units = sum(qty for qty, _c, _t in specs)
    if not 0 < sum(released.values()) < total_units:
        return
    b = backorder(*lines)
    plan = plan_resplit(
        b, released, original_number="9", taken_numbers=["9-001"], settings=StoreSettings()
    )
    for source, lp in zip(lines, plan.lines, strict=True):
        assert lp.keep + lp.backorder == source.quantity
        assert lp.keep == released[source.line_id]
        assert lp.kept_amounts.subtotal + lp.moved_amounts.subtotal == source.subtotal
        assert lp.kept_amounts.total + lp.moved_amounts.total == source.total
        assert lp.kept_amounts.tax + lp.moved_amounts.tax == source.tax
        assert lp.kept_amounts.subtotal_tax + lp.moved_amounts.subtotal_tax == source.subtotal_tax
    assert plan.original_totals is not None and plan.backorder_totals is not None
    assert plan.original_totals.total + plan.backorder_totals.total == b_total(lines)


def b_total(lines: list) -> Decimal:  # type: ignore[type-arg]
    return sum((ln.total + ln.tax for ln in lines), Decimal("0.00"))
