"""WooCommerce's answers to "which promised units are held" and "how many units are free"
(plugin/platforms/woocommerce/stock.py), from its `_reduced_stock` rules, without a store."""

from __future__ import annotations

import dataclasses

from plugin.core.model import ProductRef, Status, StockFigure
from plugin.platforms.woocommerce.stock import free_for_waiting, held_units
from plugin.ports import HeldUnits, Promise, PromiseState
from tests.fakes import make_line, make_order

WIDGET, GADGET, SHIRT = ProductRef("77"), ProductRef("66"), ProductRef("5")
RED, BLUE = ProductRef("5", "51"), ProductRef("5", "52")  # variations drawing on the shirt's figure


def _line(line_id: str, ref: ProductRef, units: int) -> dict[str, object]:
    line: dict[str, object] = {
        "line_id": line_id, "product_id": ref.product_id, "variant_id": ref.variant_id,
        "units": units,
    }  # fmt: skip
    if ref.variant_id:
        line["pool"] = {"product_id": ref.product_id, "variant_id": None}
    return line


def test_a_pending_release_holds_each_line_until_its_stock_is_reduced_again() -> None:
    promises = [
        Promise("502", (_line("a", WIDGET, 2),)),  # unpaid, nothing reduced: held
        Promise("503", (_line("b", GADGET, 1), _line("c", WIDGET, 1))),  # paid line b only
        Promise("504", (_line("d", RED, 3),)),  # a variation: held on its parent's figure
    ]
    orders = {o: make_order(o) for o in ("502", "503", "504")}
    reduced = {"502": {}, "503": {"b": 1}, "504": {"d": 1}}

    answer = held_units(promises, orders, reduced.__getitem__)

    assert answer == HeldUnits(
        {WIDGET: 3, SHIRT: 3},
        {"502": PromiseState.HOLDING, "503": PromiseState.HOLDING, "504": PromiseState.HOLDING},
    )


def test_paid_cancelled_and_deleted_orders_hold_nothing_and_say_why() -> None:
    promises = [
        Promise("502", (_line("a", WIDGET, 2),)),  # paid: reduced again
        Promise("503", (_line("b", WIDGET, 1),)),  # cancelled: its units are free
        Promise("504", (_line("c", WIDGET, 4),)),  # deleted in the store
    ]
    orders = {
        "502": make_order("502"),
        "503": dataclasses.replace(make_order("503"), status=Status.CANCELLED),
    }

    answer = held_units(promises, orders, {"502": {"a": 2}, "503": {}}.__getitem__)

    assert answer == HeldUnits(
        {},
        {"502": PromiseState.SETTLED, "503": PromiseState.SETTLED, "504": PromiseState.GONE},
    )


def test_free_units_are_the_figure_plus_what_the_waiting_orders_took_less_what_is_held() -> None:
    waiting = [
        make_order("601", [make_line("1", "77", 2), make_line("2", "66", 1)]),
        make_order("602", [make_line("3", "77", 3)]),
    ]
    figures = [
        (WIDGET, StockFigure(WIDGET, -1)),  # 5 units taken by the waiting orders, 4 arrived
        (GADGET, StockFigure(GADGET, None)),  # not counted: nothing can be said to be free
    ]
    reduced = {"601": {"1": 2, "2": 1}, "602": {"3": 3}}

    free, pools = free_for_waiting(figures, waiting, reduced.__getitem__, {WIDGET: 1})

    assert free == {WIDGET: 3, GADGET: 0}  # -1 + 5 - 1 held
    assert pools == {WIDGET: WIDGET, GADGET: GADGET}


def test_variations_sharing_a_figure_count_it_once_at_its_lowest_reading() -> None:
    waiting = [
        make_order("701", [dataclasses.replace(make_line("1", "5", 2), variant_id="51")]),
        make_order("702", [dataclasses.replace(make_line("2", "5", 1), variant_id="52")]),
    ]
    figures = [(RED, StockFigure(SHIRT, 2)), (BLUE, StockFigure(SHIRT, 1))]  # a sale between

    free, pools = free_for_waiting(
        figures, waiting, {"701": {"1": 2}, "702": {"2": 1}}.__getitem__, {}
    )

    assert free == {SHIRT: 4}  # the lower reading, 1, plus the 3 units both orders took
    assert pools == {RED: SHIRT, BLUE: SHIRT}
