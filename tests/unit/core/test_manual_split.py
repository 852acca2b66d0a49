"""`plan_manual_split`: the merchant chooses how many units of each line go on backorder."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from plugin.core.model import (
    Links,
    Order,
    Outcome,
    PaymentAction,
    PaymentState,
    Status,
    StoreSettings,
)
from plugin.core.serialize import plan_from_dict, plan_to_dict
from plugin.core.split import manual_quantity_problems, order_totals, plan_manual_split
from tests.examples import properties
from tests.unit.core.builders import line, order
from tests.unit.core.strategies import orders

MERCHANT = "ann@shop.example"
SETTINGS = StoreSettings()


def _mug_and_kettle(**kwargs: object) -> Order:
    return order(
        line("11", "105", 5, "50.00", "10.00"),
        line("12", "106", 2, "30.00", "6.00", total="27.00", tax="5.40"),
        shipping="4.95",
        **kwargs,  # type: ignore[arg-type]
    )


def test_two_of_five_units_move_with_their_money_and_a_number() -> None:
    plan = plan_manual_split(_mug_and_kettle(), {"11": 2}, SETTINGS, requested_by=MERCHANT)

    assert plan.outcome is Outcome.SPLIT
    assert plan.split_key == "501:1"
    assert plan.backorder_number == "1042-001"
    assert [(lp.line_id, lp.ordered, lp.keep, lp.backorder, lp.oversold) for lp in plan.lines] == [
        ("11", 5, 3, 2, 0),
        ("12", 2, 2, 0, 0),
    ]
    mug = plan.lines[0]
    assert (mug.kept_amounts.total, mug.kept_amounts.tax) == (Decimal("30.00"), Decimal("6.00"))
    assert (mug.moved_amounts.total, mug.moved_amounts.tax) == (Decimal("20.00"), Decimal("4.00"))
    assert plan.original_totals is not None and plan.backorder_totals is not None
    assert plan.original_totals.total == Decimal("73.35")  # 30 + 6 + 27 + 5.40 + 4.95
    assert plan.backorder_totals.total == Decimal("24.00")
    assert plan.payment is PaymentAction.CHARGE_ON_RELEASE
    assert mug.reason.code == "manual_backorder"
    assert mug.reason.message == (
        f"'Product 105' (SKU SKU-105): {MERCHANT} put 2 of 5 units on backorder by hand; "
        "3 ship now."
    )
    assert [r.code for r in plan.reasons] == [
        "eligible",
        "manual_split",
        "split",
        "payment_charge_on_release",
    ]
    assert plan.reasons[2].message == (
        "2 units on 1 line(s) move to backorder order 1042-001; the rest ships now."
    )
    assert plan_from_dict(plan_to_dict(plan)) == plan


def test_a_paid_order_with_additional_shipping_is_explained_like_any_split() -> None:
    settings = StoreSettings(
        additional_shipping=Decimal("3.5"), numbering_pattern="BO-{number}/{seq}"
    )
    plan = plan_manual_split(
        _mug_and_kettle(payment_state=PaymentState.PAID),
        {"11": 5, "12": 1},
        settings,
        requested_by=MERCHANT,
    )
    assert plan.backorder_number == "BO-1042/1"
    assert plan.payment is PaymentAction.PAID_FROM_ORIGINAL
    assert plan.additional_shipping == Decimal("3.50")
    assert plan.lines[0].reason.code == "manual_line_backordered"
    assert plan.backorder_totals is not None
    # 50 + 10 for all five mugs, 13.50 + 2.70 for one kettle, 3.50 shipping
    assert plan.backorder_totals.total == Decimal("79.70")
    assert [r.code for r in plan.reasons][-2:] == [
        "payment_paid_from_original",
        "additional_shipping",
    ]


def test_stock_is_not_consulted_and_the_delivery_condition_does_not_hold_it_back() -> None:
    # No stock map at all: the merchant's units are the decision.
    plan = plan_manual_split(
        dataclasses.replace(_mug_and_kettle(), delivery_override=None),
        {"12": 2},
        SETTINGS,
        requested_by=MERCHANT,
    )
    assert [lp.backorder for lp in plan.lines] == [0, 2]
    assert not plan.hold_original and not plan.alerts


def _refused(
    plan_order: Order, manual: dict[str, int], settings: StoreSettings = SETTINGS
) -> list[tuple[str, str]]:
    plan = plan_manual_split(plan_order, manual, settings, requested_by=MERCHANT)
    assert plan.outcome is Outcome.NO_CHANGE
    assert plan.lines == () and plan.split_key is None and plan.backorder_number is None
    return [(r.code, r.message) for r in plan.reasons]


def test_orders_that_are_not_eligible_are_refused_with_the_reason() -> None:
    assert _refused(_mug_and_kettle(status=Status.DISPATCHED), {"11": 1}) == [
        (
            "status_not_eligible",
            "Order 1042 is Dispatched; only orders in these statuses may have lines put on "
            "backorder: New, On Hold.",
        )
    ]
    assert _refused(_mug_and_kettle(links=Links(split_count=1)), {"11": 1})[0][0] == (
        "already_split"
    )
    assert (
        _refused(_mug_and_kettle(links=Links(is_backorder_order=True, parent_id="1")), {"11": 1})[
            0
        ][0]
        == "is_backorder_order"
    )
    assert _refused(_mug_and_kettle(), {"11": 1}, StoreSettings(enabled=False))[0][0] == (
        "store_disabled"
    )


def test_quantities_that_do_not_fit_the_order_are_refused_line_by_line() -> None:
    assert _refused(_mug_and_kettle(), {"11": 6, "12": -1, "99": 1}) == [
        ("line_unknown", "Order 1042 has no line 99."),
        (
            "quantity_out_of_range",
            "'Product 105' (SKU SKU-105): 6 units cannot go on backorder; choose 0 to 5, "
            "the ordered quantity.",
        ),
        (
            "quantity_out_of_range",
            "'Product 106' (SKU SKU-106): -1 units cannot go on backorder; choose 0 to 2, "
            "the ordered quantity.",
        ),
    ]
    assert _refused(_mug_and_kettle(), {"11": 0, "12": 0}) == [
        (
            "nothing_to_backorder",
            "Choose at least one unit to put on backorder; 0 on every line changes nothing.",
        )
    ]
    assert _refused(_mug_and_kettle(), {}) == _refused(_mug_and_kettle(), {"11": 0})
    assert [c for c, _ in _refused(_mug_and_kettle(), {"11": 1.5, "12": True})] == [  # type: ignore[dict-item]
        "quantity_not_whole",
        "quantity_not_whole",
    ]
    no_product = order(line("11", "0", 2, "10.00"))
    assert _refused(no_product, {"11": 1})[0][0] == "no_product"


# --- properties -----------------------------------------------------------------------------

EXAMPLES = properties(500)


@st.composite
def manual_cases(draw: st.DrawFn) -> tuple[Order, dict[str, int]]:
    """An eligible order and units per line within 0..ordered, at least one somewhere."""
    plan_order = draw(orders(statuses=st.sampled_from([Status.NEW, Status.ON_HOLD])))
    plan_order = dataclasses.replace(plan_order, links=Links())
    plan_order = dataclasses.replace(
        plan_order,
        lines=tuple(
            dataclasses.replace(li, product_id=li.product_id if li.product_id != "0" else "1")
            for li in plan_order.lines
        ),
    )
    manual = {li.line_id: draw(st.integers(0, max(li.quantity, 0))) for li in plan_order.lines}
    return plan_order, manual


@EXAMPLES
@given(manual_cases())
def test_every_line_is_conserved_and_exactly_the_chosen_units_move(
    case: tuple[Order, dict[str, int]],
) -> None:
    plan_order, manual = case
    plan = plan_manual_split(plan_order, manual, SETTINGS, requested_by=MERCHANT)
    if not any(manual.values()):
        assert [r.code for r in plan.reasons] == ["nothing_to_backorder"]
        return
    assert plan.outcome is Outcome.SPLIT
    for lp, li in zip(plan.lines, plan_order.lines, strict=True):
        assert lp.line_id == li.line_id and lp.ordered == li.quantity
        assert lp.keep + lp.backorder == li.quantity
        assert lp.backorder == manual[li.line_id] <= li.quantity
        assert lp.keep >= 0 and lp.oversold == 0 and lp.waiting == 0
        for field in ("subtotal", "subtotal_tax", "total", "tax"):
            assert getattr(lp.kept_amounts, field) + getattr(lp.moved_amounts, field) == getattr(
                li, field
            )


@EXAMPLES
@given(manual_cases())
def test_totals_of_both_orders_add_up_to_the_order(case: tuple[Order, dict[str, int]]) -> None:
    plan_order, manual = case
    if not any(manual.values()):
        return
    plan = plan_manual_split(plan_order, manual, SETTINGS, requested_by=MERCHANT)
    before = order_totals(plan_order)
    after, moved = plan.original_totals, plan.backorder_totals
    assert after is not None and moved is not None
    assert after.total + moved.total == before.total  # no additional shipping set
    assert after.items + moved.items == before.items
    assert after.items_tax + moved.items_tax == before.items_tax
    assert (after.shipping, after.fees) == (before.shipping, before.fees)
    assert plan.moved_amount == moved.total
    assert plan_from_dict(plan_to_dict(plan)) == plan


@EXAMPLES
@given(
    manual_cases(),
    st.dictionaries(st.sampled_from(["1", "2", "3", "9"]), st.integers(-3, 40), max_size=4),
)
def test_units_beyond_a_line_are_never_planned(
    case: tuple[Order, dict[str, int]], manual: dict[str, int]
) -> None:
    plan_order, _ = case
    plan = plan_manual_split(plan_order, manual, SETTINGS, requested_by=MERCHANT)
    problems = manual_quantity_problems(plan_order, manual)
    assert (plan.outcome is Outcome.SPLIT) == (not problems)
    quantities = {li.line_id: li.quantity for li in plan_order.lines}
    for lp in plan.lines:
        assert 0 <= lp.backorder <= quantities[lp.line_id]
