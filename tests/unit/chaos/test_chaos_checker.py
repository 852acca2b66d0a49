"""The WooCommerce chaos run's own logic: what must become of an order, and the check that finds
what went wrong (tests/e2e/chaos_woocommerce.py). The run itself is tests/e2e/test_chaos.py and
`make chaos`."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from tests.e2e.chaos_woocommerce import (
    LineSpec,
    OrderSpec,
    Placed,
    outcome,
    plan_orders,
    violations,
)

STOCK = LineSpec("stock", 2, index=0)
BACKORDER = LineSpec("backorder", 3, index=1)
SHORT = LineSpec("short", 4, stock=1, price="5.00")


def test_the_expected_outcome_follows_status_and_shortage() -> None:
    assert outcome("processing", [STOCK, BACKORDER]) == "split"
    assert outcome("pending", [SHORT]) == "split"  # one unit ships, three wait
    assert outcome("on-hold", [BACKORDER]) == "hold"  # nothing can ship now
    assert outcome("processing", [STOCK]) == "unchanged"
    assert outcome("completed", [STOCK, BACKORDER]) == "unchanged"
    assert outcome("cancelled", [BACKORDER]) == "unchanged"


def test_the_plan_is_seeded_and_mixed() -> None:
    first = plan_orders(random.Random(3), 400)
    assert first == plan_orders(random.Random(3), 400)
    assert first != plan_orders(random.Random(4), 400)
    kinds = {line.kind for spec in first for line in spec.lines}
    assert kinds == {"stock", "backorder", "short"}
    assert {spec.status for spec in first} == {
        "pending", "processing", "on-hold", "completed", "cancelled", "failed"
    }  # fmt: skip
    assert {spec.set_paid for spec in first} == {True, False}
    outcomes = {outcome(spec.status, spec.lines) for spec in first}
    assert outcomes == {"split", "hold", "unchanged"}
    for spec in first:  # a product appears once per order
        shared = [(line.kind, line.index) for line in spec.lines if line.kind != "short"]
        assert len(shared) == len(set(shared))


# --- the check, on hand-made store data -------------------------------------------------------


def order(
    order_id: int,
    lines: dict[int, int],
    total: str,
    *,
    status: str = "processing",
    parent: int = 0,
    key: str | None = None,
) -> dict[str, Any]:
    return {
        "id": order_id,
        "parent_id": parent,
        "status": status,
        "total": total,
        "line_items": [{"product_id": pid, "quantity": qty} for pid, qty in lines.items()],
        "meta_data": [{"key": "backorders_split_key", "value": key}] if key else [],
    }


SPLIT = Placed(
    order_id=10,
    spec=OrderSpec("processing", True, "stripe", (STOCK, BACKORDER)),
    status="processing",
    expected="split",
    products={101: "stock:0", 201: "backorder:1"},
    quantities={101: 2, 201: 3},
    total=Decimal("40.00"),
)
HELD = Placed(
    order_id=11,
    spec=OrderSpec("pending", False, "bacs", (BACKORDER,)),
    status="pending",
    expected="hold",
    products={201: "backorder:1"},
    quantities={201: 3},
    total=Decimal("30.00"),
)
LEFT = Placed(
    order_id=12,
    spec=OrderSpec("completed", True, "stripe", (BACKORDER,)),
    status="completed",
    expected="unchanged",
    products={201: "backorder:1"},
    quantities={201: 3},
    total=Decimal("30.00"),
)


def consistent_store() -> dict[int, dict[str, Any]]:
    return {
        5: order(5, {101: 1}, "5.00", status="completed"),  # before the run: not looked at
        10: order(10, {101: 2}, "10.00", key="k10"),
        11: order(11, {201: 3}, "30.00", status="on-hold"),
        12: order(12, {201: 3}, "30.00", status="completed"),
        13: order(13, {201: 3}, "30.00", status="on-hold", parent=10, key="k10"),
    }


def test_a_consistent_store_has_no_violations() -> None:
    assert violations([SPLIT, HELD, LEFT], consistent_store(), first_id=10) == []


def test_each_broken_invariant_is_named() -> None:
    store = consistent_store()
    store[14] = order(14, {201: 3}, "30.00", status="on-hold", parent=10, key="k10")  # twice
    store[12] = order(12, {201: 2}, "20.00", status="completed")  # ineligible, changed
    store[11] = order(11, {201: 3}, "30.00", status="pending")  # not held
    store[20] = order(20, {101: 1}, "5.00")  # from nowhere

    found = violations([SPLIT, HELD, LEFT], store, first_id=10)

    assert found == [
        "order 10 (processing, split): 2 backorder orders, expected exactly 1",
        "order 11 (pending, hold): status pending, expected on-hold",
        "order 12 (completed, unchanged): lines changed {201: 3} -> {201: 2}",
        "order 12 (completed, unchanged): total changed 30.00 -> 20.00",
        "order 20: not placed by the run and not a backorder of one",
    ]


def test_lost_units_and_money_are_found_on_a_split() -> None:
    store = consistent_store()
    store[13] = order(13, {201: 2}, "29.99", status="on-hold", parent=10, key="k10")

    found = violations([SPLIT], store, first_id=10)

    assert found == [
        "order 10 (processing, split): product 201 0+2 units, ordered 3",
        "order 10 (processing, split): product 201 kept 0, moved 2; expected 0, 3",
        "order 10 (processing, split): total 10.00 + backorder 29.99 != 40.00",
        "order 11: not placed by the run and not a backorder of one",
        "order 12: not placed by the run and not a backorder of one",
    ]


def test_an_unsplit_order_and_a_missing_one_are_found() -> None:
    store = consistent_store()
    del store[13]
    store[10] = order(10, {101: 2, 201: 3}, "40.00")
    del store[11]

    found = violations([SPLIT, HELD, LEFT], store, first_id=10)

    assert found == [
        "order 10 (processing, split): 0 backorder orders, expected exactly 1",
        "order 11: missing from the store",
    ]
