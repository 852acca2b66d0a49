"""Whole plans for hand-computed orders, per delivery condition, payment and currency."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from plugin.core.model import (
    Amounts,
    BackorderMode,
    CustomerPolicy,
    DeliveryCondition,
    LinePlan,
    Links,
    OrderTotals,
    Outcome,
    OversoldAction,
    PaymentAction,
    PaymentState,
    Plan,
    Policies,
    ProductPolicy,
    ProductRef,
    Reason,
    Status,
    StoreSettings,
)
from plugin.core.split import order_totals, plan_split
from tests.unit.core.builders import line, order, stock

D = Decimal
NO = BackorderMode.NO


def amounts(subtotal: str, subtotal_tax: str, total: str, tax: str) -> Amounts:
    return Amounts(D(subtotal), D(subtotal_tax), D(total), D(tax))


def totals(*values: str) -> OrderTotals:
    return OrderTotals(*(D(v) for v in values))


# Line 1: 5 x A at 10.00, 10% discount, 10% tax; 2 in stock. Line 2: 3 x B, not backorderable,
# none in stock (oversold). Shipping 10.00 + 1.00 tax.
MIXED = order(
    line("1", "A", 5, "50.00", "5.00", "45.00", "4.50"),
    line("2", "B", 3, "30.00", "3.00"),
    shipping="10.00",
    shipping_tax="1.00",
)
MIXED_STOCK = dict([stock("A", 2), stock("B", 0, NO)])


def test_ship_available_split_with_discount_tax_and_oversold_line() -> None:
    plan = plan_split(MIXED, MIXED_STOCK, Policies())
    oversold = Reason(
        "oversold_not_backorderable",
        "'Product B' (SKU SKU-B): 3 of 3 units are out of stock and the product may not be "
        "backordered; they stay on the order without stock (oversold).",
        "2",
    )
    assert plan == Plan(
        order_id="501",
        outcome=Outcome.SPLIT,
        reasons=(
            Reason("eligible", "Order 1042 is New, so its lines may be put on backorder."),
            Reason(
                "delivery_ship_available",
                "Delivery: ship what is available, backorder the rest (the store default).",
            ),
            Reason(
                "split",
                "3 units on 1 line(s) move to backorder order 1042-001; the rest ships now.",
            ),
            Reason(
                "payment_charge_on_release",
                "The order is not paid yet: the customer now pays 63.80 USD for what ships, "
                "and 29.70 USD for backorder order 1042-001 when it ships.",
            ),
            Reason(
                "oversold_report",
                "Some units are out of stock and may not be backordered; they stay on the "
                "order and the merchant is alerted.",
            ),
        ),
        lines=(
            LinePlan(
                "1",
                ProductRef("A"),
                5,
                2,
                3,
                0,
                amounts("20.00", "2.00", "18.00", "1.80"),
                amounts("30.00", "3.00", "27.00", "2.70"),
                Reason(
                    "partly_backordered",
                    "'Product A' (SKU SKU-A): 3 of 5 units are out of stock; 2 ship now and 3 "
                    "go on backorder.",
                    "1",
                ),
            ),
            LinePlan(
                "2",
                ProductRef("B"),
                3,
                3,
                0,
                3,
                amounts("30.00", "3.00", "30.00", "3.00"),
                Amounts(),
                oversold,
            ),
        ),
        split_key="501:1",
        backorder_number="1042-001",
        original_totals=totals("48.00", "4.80", "2.00", "10.00", "1.00", "0", "0", "63.80"),
        backorder_totals=totals("27.00", "2.70", "3.00", "0", "0", "0", "0", "29.70"),
        additional_shipping=D("0"),
        payment=PaymentAction.CHARGE_ON_RELEASE,
        moved_amount=D("29.70"),
        hold_original=False,
        alerts=(oversold,),
    )
    before = order_totals(MIXED)
    assert before.total == D("93.50")
    assert plan.original_totals is not None and plan.backorder_totals is not None
    assert plan.original_totals.total + plan.backorder_totals.total == before.total


def test_oversold_with_hold_action_splits_and_holds_the_original() -> None:
    policies = Policies(StoreSettings(oversold_action=OversoldAction.HOLD))
    plan = plan_split(MIXED, MIXED_STOCK, policies)
    assert (plan.outcome, plan.hold_original) == (Outcome.SPLIT, True)
    assert plan.reasons[-1].code == "oversold_hold"
    assert [a.code for a in plan.alerts] == ["oversold_not_backorderable"]


@pytest.mark.parametrize(
    ("action", "outcome", "hold", "code"),
    [
        (OversoldAction.REPORT, Outcome.NO_CHANGE, False, "oversold_report"),
        (OversoldAction.HOLD, Outcome.HOLD, True, "oversold_hold"),
    ],
)
def test_oversold_only(action: OversoldAction, outcome: Outcome, hold: bool, code: str) -> None:
    o = order(line("1", "A", 2, "20.00"), line("2", "B", 3, "30.00"))
    plan = plan_split(
        o, dict([stock("A", 5), stock("B", 1, NO)]), Policies(StoreSettings(oversold_action=action))
    )
    assert (plan.outcome, plan.hold_original, plan.reasons[-1].code) == (outcome, hold, code)
    assert [(lp.keep, lp.backorder, lp.oversold) for lp in plan.lines] == [(2, 0, 0), (3, 0, 2)]
    assert [(a.code, a.line_id) for a in plan.alerts] == [("oversold_not_backorderable", "2")]
    assert (plan.split_key, plan.backorder_number, plan.backorder_totals) == (None, None, None)
    assert plan.original_totals == order_totals(o)


def test_all_in_stock_is_no_change() -> None:
    o = order(line("1", "A", 2, "20.00"), line("2", "A", 3, "30.00"))
    plan = plan_split(o, dict([stock("A", 5)]), Policies())
    assert plan.outcome is Outcome.NO_CHANGE
    assert plan.reasons[-1] == Reason("nothing_to_backorder", "Every line can ship now; no split.")
    assert [(lp.keep, lp.backorder) for lp in plan.lines] == [(2, 0), (3, 0)]
    assert (plan.split_key, plan.alerts, plan.hold_original) == (None, (), False)


# Lines complete: line 1 (4 x A, 1 in stock) goes whole; line 2 (2 x C, in stock) ships;
# line 3 (3 x A) cannot ship either: the one A unit is left, line 3 needs 3.
def test_lines_complete_moves_short_lines_whole() -> None:
    o = order(
        line("1", "A", 4, "40.00", "8.00", "36.00", "7.20"),
        line("2", "C", 2, "9.98", "2.00"),
        line("3", "A", 3, "30.00", "6.00"),
        shipping="5.00",
    )
    policies = Policies(customer=CustomerPolicy("7", DeliveryCondition.LINES_COMPLETE))
    plan = plan_split(o, dict([stock("A", 1), stock("C", 2)]), policies)
    assert plan.outcome is Outcome.SPLIT
    assert [(lp.keep, lp.backorder, lp.oversold, lp.reason.code) for lp in plan.lines] == [
        (0, 4, 0, "line_backordered"),
        (2, 0, 0, "in_stock"),
        (0, 3, 0, "line_backordered"),
    ]
    assert plan.lines[0].moved_amounts == amounts("40.00", "8.00", "36.00", "7.20")
    assert plan.lines[0].kept_amounts == amounts("0.00", "0.00", "0.00", "0.00")
    assert plan.original_totals == totals("9.98", "2.00", "0.00", "5.00", "0", "0", "0", "16.98")
    assert plan.backorder_totals == totals("66.00", "13.20", "4.00", "0", "0", "0", "0", "79.20")
    assert plan.reasons[1].code == "delivery_lines_complete"


def test_whole_order_waits_instead_of_splitting() -> None:
    o = order(
        line("1", "A", 6, "60.00", "6.00"),
        line("2", "A", 4, "40.00", "4.00"),
        line("3", "C", 1, "5.00"),
    )
    policies = Policies(StoreSettings(default_delivery=DeliveryCondition.WHOLE_ORDER))
    plan = plan_split(o, dict([stock("A", 5), stock("C", 3)]), policies)
    assert (plan.outcome, plan.hold_original, plan.awaits_stock) == (Outcome.HOLD, True, True)
    # keep + backorder == ordered: nothing moves, `waiting` says what the order waits for.
    assert [(lp.keep, lp.backorder, lp.oversold, lp.waiting) for lp in plan.lines] == [
        (6, 0, 0, 1),
        (4, 0, 0, 4),
        (1, 0, 0, 0),
    ]
    assert [lp.reason.code for lp in plan.lines] == [
        "whole_order_waits",
        "whole_order_waits",
        "in_stock",
    ]
    assert plan.lines[1].reason.message == (
        "'Product A' (SKU SKU-A): waits for 4 of 4 units; the whole order waits with it."
    )
    assert all(lp.moved_amounts == Amounts() for lp in plan.lines)
    assert (plan.split_key, plan.backorder_number, plan.backorder_totals) == (None, None, None)
    assert plan.original_totals == order_totals(o)
    assert plan.payment is PaymentAction.CHARGE_ON_RELEASE
    assert plan.moved_amount == D("0")
    assert plan.reasons[-1].code == "whole_order_waits"


def test_whole_order_in_stock_is_no_change() -> None:
    o = dataclasses.replace(
        order(line("1", "A", 2, "2.00")), delivery_override=DeliveryCondition.WHOLE_ORDER
    )
    plan = plan_split(o, dict([stock("A", 2)]), Policies())
    assert (plan.outcome, plan.hold_original, plan.awaits_stock) == (
        Outcome.NO_CHANGE,
        False,
        False,
    )


def test_nothing_available_at_all_makes_the_whole_order_wait() -> None:
    o = order(line("1", "A", 2, "20.00"), line("2", "B", 1, "5.00"), shipping="4.00")
    plan = plan_split(o, dict([stock("A", 0), stock("B", -3)]), Policies())
    assert (plan.outcome, plan.hold_original) == (Outcome.HOLD, True)
    assert [(lp.keep, lp.backorder, lp.waiting) for lp in plan.lines] == [(2, 0, 2), (1, 0, 1)]
    assert "nothing in it can ship now" in plan.reasons[-1].message


def test_whole_order_with_an_oversold_line_waits_and_alerts() -> None:
    o = dataclasses.replace(
        order(line("1", "A", 2, "20.00"), line("2", "B", 2, "5.00")),
        delivery_override=DeliveryCondition.WHOLE_ORDER,
    )
    plan = plan_split(o, dict([stock("A", 1), stock("B", 0, NO)]), Policies())
    assert plan.outcome is Outcome.HOLD
    assert [(lp.keep, lp.oversold, lp.waiting) for lp in plan.lines] == [(2, 0, 1), (2, 2, 0)]
    assert [a.code for a in plan.alerts] == ["oversold_not_backorderable"]
    assert plan.reasons[-1].code == "oversold_report"


def test_paid_order_with_additional_shipping_and_fees() -> None:
    o = order(
        line("1", "A", 3, "10.00", "2.00"),
        payment_state=PaymentState.PAID,
        shipping="6.00",
        fees=(("1.50", "0.30"),),
    )
    settings = StoreSettings(additional_shipping=D("4.995"))
    plan = plan_split(o, dict([stock("A", 2)]), Policies(settings))
    assert plan.payment is PaymentAction.PAID_FROM_ORIGINAL
    assert plan.additional_shipping == D("5.00")
    # 10.00 / 3 -> kept 6.67, moved 3.33; 2.00 / 3 -> kept 1.33, moved 0.67.
    (lp,) = plan.lines
    assert (lp.kept_amounts, lp.moved_amounts) == (
        amounts("6.67", "1.33", "6.67", "1.33"),
        amounts("3.33", "0.67", "3.33", "0.67"),
    )
    assert plan.original_totals == totals("6.67", "1.33", "0", "6.00", "0", "1.50", "0.30", "15.80")
    assert plan.backorder_totals == totals("3.33", "0.67", "0", "5.00", "0", "0", "0", "9.00")
    assert plan.moved_amount == D("9.00")
    assert order_totals(o).total == D("19.80")
    assert plan.original_totals.total + plan.backorder_totals.total == D("19.80") + D("5.00")
    assert [r.code for r in plan.reasons[2:]] == [
        "split",
        "payment_paid_from_original",
        "additional_shipping",
    ]
    assert plan.reasons[3].message == (
        "The order is paid; backorder order 1042-001 (9.00 USD) is covered by that payment and "
        "is not charged again. The additional shipping of 5.00 USD is not yet paid."
    )


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (PaymentState.UNPAID, PaymentAction.CHARGE_ON_RELEASE),
        (PaymentState.AUTHORISED, PaymentAction.CHARGE_ON_RELEASE),
        (PaymentState.PAID, PaymentAction.PAID_FROM_ORIGINAL),
    ],
)
def test_payment_action(state: PaymentState, action: PaymentAction) -> None:
    o = order(line("1", "A", 2, "2.00"), payment_state=state)
    assert plan_split(o, dict([stock("A", 1)]), Policies()).payment is action


@pytest.mark.parametrize(
    ("currency", "subtotal", "tax", "extra", "kept", "moved", "kept_tax", "moved_tax", "bo_total"),
    [
        ("JPY", "1000", "100", "500", "667", "333", "67", "33", "866"),
        ("KWD", "10.000", "0.500", "1.2345", "6.667", "3.333", "0.333", "0.167", "4.735"),
        ("USD", "10.00", "0.50", "0", "6.67", "3.33", "0.33", "0.17", "3.50"),
    ],
)
def test_minor_units_per_currency(
    currency: str,
    subtotal: str,
    tax: str,
    extra: str,
    kept: str,
    moved: str,
    kept_tax: str,
    moved_tax: str,
    bo_total: str,
) -> None:
    o = order(line("1", "A", 3, subtotal, tax), currency=currency)
    settings = StoreSettings(additional_shipping=D(extra))
    plan = plan_split(o, dict([stock("A", 2)]), Policies(settings))
    (lp,) = plan.lines
    assert (lp.kept_amounts.total, lp.moved_amounts.total) == (D(kept), D(moved))
    assert (lp.kept_amounts.tax, lp.moved_amounts.tax) == (D(kept_tax), D(moved_tax))
    assert plan.backorder_totals is not None and plan.original_totals is not None
    assert plan.backorder_totals.total == D(bo_total)
    assert plan.moved_amount == D(bo_total)
    assert plan.original_totals.total + plan.backorder_totals.total == (
        D(subtotal) + D(tax) + plan.additional_shipping
    )


@pytest.mark.parametrize(
    ("status", "links", "enabled", "code"),
    [
        (Status.DISPATCHED, Links(), True, "status_not_eligible"),
        (Status.CANCELLED, Links(), True, "status_not_eligible"),
        (Status.QUOTE, Links(), True, "status_not_eligible"),
        (Status.NEW_BACKORDER, Links(), True, "status_not_eligible"),
        (Status.NEW, Links(), False, "store_disabled"),
        (Status.NEW, Links(is_backorder_order=True), True, "is_backorder_order"),
        (Status.ON_HOLD, Links(split_count=1), True, "already_split"),
    ],
)
def test_refused_orders_are_left_untouched(
    status: Status, links: Links, enabled: bool, code: str
) -> None:
    o = order(line("1", "A", 5, "5.00"), status=status, links=links)
    plan = plan_split(o, dict([stock("A", 0)]), Policies(StoreSettings(enabled=enabled)))
    assert plan.outcome is Outcome.NO_CHANGE
    assert [r.code for r in plan.reasons] == [code]
    assert plan.lines == ()
    assert (plan.split_key, plan.hold_original, plan.moved_amount, plan.alerts) == (
        None,
        False,
        D("0"),
        (),
    )


def test_custom_numbering_and_invalid_pattern_falls_back_with_alert() -> None:
    o = order(line("1", "A", 2, "2.00"))
    custom = plan_split(
        o, dict([stock("A", 1)]), Policies(StoreSettings(numbering_pattern="BO-{number}/{seq}"))
    )
    assert custom.backorder_number == "BO-1042/1"
    broken = plan_split(
        o, dict([stock("A", 1)]), Policies(StoreSettings(numbering_pattern="{number}"))
    )
    assert broken.backorder_number == "1042-001"
    assert [a.code for a in broken.alerts] == ["numbering_pattern_invalid"]


def test_caps_are_reported_as_alerts_in_the_plan() -> None:
    o = order(line("1", "A", 5, "50.00"))
    policies = Policies(products=(ProductPolicy(ProductRef("A"), cap=10),))
    plan = plan_split(o, dict([stock("A", 0, open_backorder_qty=8)]), policies)
    assert plan.outcome is Outcome.SPLIT
    (lp,) = plan.lines
    assert (lp.keep, lp.backorder, lp.oversold) == (3, 2, 3)
    assert (lp.kept_amounts.total, lp.moved_amounts.total) == (D("30.00"), D("20.00"))
    assert [a.code for a in plan.alerts] == ["backorder_cap_reached"]


def test_unknown_stock_moves_nothing_and_alerts() -> None:
    o = order(line("1", "A", 2, "20.00"), line("2", "B", 1, "5.00"))
    plan = plan_split(o, dict([stock("A", 5)]), Policies())
    assert plan.outcome is Outcome.NO_CHANGE
    assert [(lp.keep, lp.backorder, lp.reason.code) for lp in plan.lines] == [
        (2, 0, "in_stock"),
        (1, 0, "stock_unknown"),
    ]
    assert [(a.code, a.line_id) for a in plan.alerts] == [("stock_unknown", "2")]
    assert plan.reasons[-1] == Reason(
        "nothing_to_backorder", "Nothing goes on backorder; see the alerts."
    )


# --- units held for released orders awaiting payment (README "Stock accounting") ------------


def test_units_held_for_a_released_unpaid_order_go_on_backorder() -> None:
    """The figure shows 2 (given back by a release to pending) + the 2 this order took; the
    2 given back are promised, so only 2 ship and 2 go on backorder."""
    new = order(line("1", "A", 4, "40.00"), payment_state=PaymentState.PAID)

    plan = plan_split(new, dict([stock("A", 4)]), Policies(), {ProductRef("A"): 2})

    assert plan.outcome is Outcome.SPLIT
    [lp] = plan.lines
    assert (lp.keep, lp.backorder, lp.oversold) == (2, 2, 0)
    assert lp.reason == Reason(
        "partly_backordered",
        "'Product A' (SKU SKU-A): 2 of 4 units are out of stock (2 units in stock are "
        "promised to released backorder orders awaiting payment); 2 ship now and 2 go on "
        "backorder.",
        "1",
    )


def test_held_units_count_per_variation_and_never_for_unmanaged_stock() -> None:
    new = order(
        line("1", "C", 1, "10.00", variant_id="red"),
        line("2", "C", 1, "10.00", variant_id="blue"),
        line("3", "T", 3, "30.00"),
    )
    stocks = dict(
        [stock("C", 1, variant_id="red"), stock("C", 1, variant_id="blue"),
         stock("T", 0, managed=False)]
    )  # fmt: skip
    held = {ProductRef("C", "red"): 1, ProductRef("T"): 5}

    plan = plan_split(new, stocks, Policies(), held)

    assert [(lp.ref, lp.keep, lp.backorder) for lp in plan.lines] == [
        (ProductRef("C", "red"), 0, 1),
        (ProductRef("C", "blue"), 1, 0),
        (ProductRef("T"), 3, 0),
    ]
    assert plan.lines[0].reason.message == (
        "'Product C' (SKU SKU-C): 1 of 1 unit is out of stock (1 unit in stock is promised to "
        "released backorder orders awaiting payment); 0 ship now and 1 goes on backorder."
    )


def test_more_held_than_the_figure_shows_leaves_nothing_and_no_negative() -> None:
    new = order(line("1", "A", 2, "20.00"), line("2", "B", 1, "10.00"))

    plan = plan_split(new, dict([stock("A", 1), stock("B", 1)]), Policies(), {ProductRef("A"): 3})

    assert [(lp.keep, lp.backorder) for lp in plan.lines] == [(0, 2), (1, 0)]


def test_a_line_without_a_product_stays_on_the_original() -> None:
    o = order(line("1", "0", 1, "0.00"), line("2", "A", 2, "20.00"))
    plan = plan_split(o, dict([stock("A", 0)]), Policies())

    assert plan.outcome is Outcome.SPLIT
    assert [(lp.line_id, lp.keep, lp.backorder, lp.reason.code) for lp in plan.lines] == [
        ("1", 1, 0, "no_product"),
        ("2", 0, 2, "line_backordered"),
    ]


def test_a_single_unit_is_counted_in_the_singular() -> None:
    """One unit in stock is "the 1 unit is", never "all 1 unit are"; one unit shipping and one
    going on backorder "ships" and "goes"."""
    plan = plan_split(
        order(line("1", "A", 1, "10.00"), line("2", "B", 2, "20.00")),
        dict([stock("A", 5), stock("B", 1)]),
        Policies(),
    )

    assert [lp.reason.message for lp in plan.lines] == [
        "'Product A' (SKU SKU-A): the 1 unit is in stock.",
        "'Product B' (SKU SKU-B): 1 of 2 units is out of stock; 1 ships now and 1 goes on "
        "backorder.",
    ]
