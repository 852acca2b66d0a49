"""Properties of the split bodies over orders the core planner splits: nothing is lost."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from plugin.core.model import Outcome, Policies
from plugin.core.split import plan_split
from plugin.platforms.woocommerce.mapping import (
    backorder_create_body,
    load_order,
    order_from_data,
    original_update_body,
)
from plugin.platforms.woocommerce.stock import stock_for_order
from tests.examples import properties

from .conftest import line, order_json, product_json

LINE = st.tuples(
    st.integers(min_value=1, max_value=9),  # quantity
    st.integers(min_value=1, max_value=5000),  # unit price in cents
    st.integers(min_value=0, max_value=30),  # discount percent
    st.integers(min_value=-5, max_value=12),  # stock now (after this order reduced)
)


@properties(80)
@given(lines=st.lists(LINE, min_size=1, max_size=6))
def test_bodies_conserve_quantities_and_money(lines: list[tuple[int, int, int, int]]) -> None:
    items, products = [], []
    for index, (quantity, cents, percent, stock) in enumerate(lines):
        subtotal = Decimal(cents * quantity) / 100
        total = (subtotal * (100 - percent) / 100).quantize(Decimal("0.01"))
        items.append(
            line(
                100 + index,
                500 + index,
                quantity,
                f"{subtotal:.2f}",
                f"{total:.2f}",
                reduced=quantity,
            )
        )
        products.append(product_json(500 + index, stock, backorders="notify"))
    data = load_order(order_json(line_items=items))
    original = order_from_data(data)
    plan = plan_split(original, stock_for_order(data, products), Policies())
    if plan.outcome is not Outcome.SPLIT:
        return
    create = backorder_create_body(original, plan)
    update = original_update_body(original, plan)
    moved = {int(i["meta_data"][0]["value"]): i for i in create["line_items"]}
    changed = {i["id"]: i for i in update["line_items"]}
    for source in data["line_items"]:
        line_id = source["id"]
        kept = changed.get(line_id)
        kept_quantity = source["quantity"] if kept is None else kept.get("quantity", 0)
        kept_subtotal = source["subtotal"] if kept is None else Decimal(kept.get("subtotal", "0"))
        kept_total = source["total"] if kept is None else Decimal(kept.get("total", "0"))
        out = moved.get(line_id)
        moved_quantity = 0 if out is None else out["quantity"]
        assert kept_quantity + moved_quantity == source["quantity"]
        assert kept_subtotal + Decimal(out["subtotal"] if out else "0") == source["subtotal"]
        assert kept_total + Decimal(out["total"] if out else "0") == source["total"]
        if kept is not None and kept_quantity == 0:
            assert kept == {"id": line_id, "product_id": None}  # removed, not set to 0
