"""Eligibility, delivery condition and product-policy rules, one table per rule."""

from __future__ import annotations

import dataclasses

import pytest

from plugin.core.model import (
    BackorderMode,
    CustomerPolicy,
    DeliveryCondition,
    Links,
    Policies,
    ProductPolicy,
    ProductRef,
    Status,
    Stock,
    StoreSettings,
)
from plugin.core.rules import allows_backorder, decide_lines, delivery_condition, eligibility
from tests.unit.core.builders import line, order, stock

ELIGIBLE = {Status.NEW, Status.ON_HOLD}


@pytest.mark.parametrize("status", list(Status))
def test_only_new_and_on_hold_are_eligible_by_default(status: Status) -> None:
    ok, reason = eligibility(order(line("1", "A", 1, "1.00"), status=status), StoreSettings())
    assert ok is (status in ELIGIBLE)
    assert reason.code == ("eligible" if status in ELIGIBLE else "status_not_eligible")


def test_ineligible_status_reason_names_the_status_and_the_allowed_ones() -> None:
    ok, reason = eligibility(
        order(line("1", "A", 1, "1.00"), status=Status.DISPATCHED), StoreSettings()
    )
    assert not ok
    assert reason.message == (
        "Order 1042 is Dispatched; only orders in these statuses may have lines put on "
        "backorder: New, On Hold."
    )


def test_merchant_may_narrow_eligible_statuses() -> None:
    settings = StoreSettings(eligible_statuses=frozenset({Status.NEW}))
    on_hold = order(line("1", "A", 1, "1.00"), status=Status.ON_HOLD)
    assert eligibility(on_hold, settings)[0] is False
    assert eligibility(dataclasses.replace(on_hold, status=Status.NEW), settings)[0] is True


@pytest.mark.parametrize(
    ("links", "enabled", "code"),
    [
        (Links(), False, "store_disabled"),
        (Links(is_backorder_order=True, parent_id="500"), True, "is_backorder_order"),
        (Links(split_count=1), True, "already_split"),
        (Links(), True, "eligible"),
    ],
)
def test_disabled_store_and_split_orders_are_refused(
    links: Links, enabled: bool, code: str
) -> None:
    ok, reason = eligibility(
        order(line("1", "A", 1, "1.00"), links=links), StoreSettings(enabled=enabled)
    )
    assert (ok, reason.code) == (code == "eligible", code)


SA, LC, WO = (
    DeliveryCondition.SHIP_AVAILABLE,
    DeliveryCondition.LINES_COMPLETE,
    DeliveryCondition.WHOLE_ORDER,
)


@pytest.mark.parametrize(
    ("override", "customer", "default", "expected", "source"),
    [
        (None, None, SA, SA, "the store default"),
        (None, CustomerPolicy("7"), LC, LC, "the store default"),
        (None, CustomerPolicy("7", WO), SA, WO, "the customer's preference"),
        (LC, CustomerPolicy("7", WO), SA, LC, "set on this order"),
        (WO, None, LC, WO, "set on this order"),
    ],
)
def test_delivery_condition_precedence(
    override: DeliveryCondition | None,
    customer: CustomerPolicy | None,
    default: DeliveryCondition,
    expected: DeliveryCondition,
    source: str,
) -> None:
    o = dataclasses.replace(order(line("1", "A", 1, "1.00")), delivery_override=override)
    policies = Policies(StoreSettings(default_delivery=default), customer=customer)
    condition, reason = delivery_condition(o, policies)
    assert condition is expected
    assert reason.code == f"delivery_{expected.value}"
    assert reason.message.endswith(f"({source}).")


REF = ProductRef("A")


@pytest.mark.parametrize(
    ("mode", "allow", "expected"),
    [
        (BackorderMode.NO, None, False),
        (BackorderMode.NOTIFY, None, True),
        (BackorderMode.YES, None, True),
        (BackorderMode.NO, True, True),
        (BackorderMode.YES, False, False),
        (BackorderMode.NOTIFY, False, False),
    ],
)
def test_product_policy_wins_over_platform_setting(
    mode: BackorderMode, allow: bool | None, expected: bool
) -> None:
    assert allows_backorder(Stock(REF, 0, backorders=mode), ProductPolicy(REF, allow)) is expected


def test_platform_setting_applies_without_a_product_policy() -> None:
    assert allows_backorder(Stock(REF, 0, backorders=BackorderMode.NO), None) is False
    assert allows_backorder(Stock(REF, 0, backorders=BackorderMode.YES), None) is True


def _decide(
    lines: list[tuple[str, int]],
    stocks: dict[ProductRef, Stock],
    condition: DeliveryCondition = SA,
    products: tuple[ProductPolicy, ...] = (),
) -> list[tuple[int, int, int, str]]:
    o = order(*(line(str(i), p, q, f"{q}.00") for i, (p, q) in enumerate(lines, 1)))
    decisions = decide_lines(o, stocks, Policies(products=products), condition)
    return [(d.keep, d.backorder, d.oversold, d.reason.code) for d in decisions]


# (lines [(product, qty)], stock [(product, available, mode, open)], condition, cap policies,
#  expected [(keep, backorder, oversold, code)])
NO, NOTIFY = BackorderMode.NO, BackorderMode.NOTIFY
DECISIONS = [
    pytest.param([("A", 5)], [("A", 5, NO, 0)], SA, (), [(5, 0, 0, "in_stock")], id="in-stock"),
    pytest.param(
        [("A", 5)], [("A", 2, NOTIFY, 0)], SA, (), [(2, 3, 0, "partly_backordered")], id="sa-part"
    ),
    pytest.param(
        [("A", 5)], [("A", -4, NOTIFY, 0)], SA, (), [(0, 5, 0, "line_backordered")], id="negative"
    ),
    pytest.param(
        [("A", 5)], [("A", 2, NOTIFY, 0)], LC, (), [(0, 5, 0, "line_backordered")], id="lc-whole"
    ),
    pytest.param(
        [("A", 5)],
        [("A", 2, NO, 0)],
        SA,
        (),
        [(5, 0, 3, "oversold_not_backorderable")],
        id="oversold",
    ),
    pytest.param(
        [("A", 5)],
        [("A", 2, NO, 0)],
        LC,
        (),
        [(5, 0, 3, "oversold_not_backorderable")],
        id="lc-oversold",
    ),
    pytest.param(
        [("A", 3), ("A", 4)],
        [("A", 5, NOTIFY, 0)],
        SA,
        (),
        [(3, 0, 0, "in_stock"), (2, 2, 0, "partly_backordered")],
        id="shared-sa",
    ),
    pytest.param(
        [("A", 6), ("A", 4)],
        [("A", 5, NOTIFY, 0)],
        LC,
        (),
        [(0, 6, 0, "line_backordered"), (4, 0, 0, "in_stock")],
        id="shared-lc-later-line-ships",
    ),
    pytest.param(
        [("A", 3), ("A", 3)],
        [("A", 4, NO, 0)],
        SA,
        (),
        [(3, 0, 0, "in_stock"), (3, 0, 2, "oversold_not_backorderable")],
        id="shared-oversold-uses-rest",
    ),
    pytest.param(
        [("A", 5)],
        [("A", 0, NOTIFY, 8)],
        SA,
        (ProductPolicy(REF, cap=10),),
        [(3, 2, 3, "backorder_cap_reached")],
        id="cap-partly",
    ),
    pytest.param(
        [("A", 5)],
        [("A", 0, NOTIFY, 12)],
        SA,
        (ProductPolicy(REF, cap=10),),
        [(5, 0, 5, "backorder_cap_reached")],
        id="cap-exceeded-already",
    ),
    pytest.param(
        [("A", 3), ("A", 3)],
        [("A", 0, NOTIFY, 0)],
        SA,
        (ProductPolicy(REF, cap=4),),
        [(0, 3, 0, "line_backordered"), (2, 1, 2, "backorder_cap_reached")],
        id="cap-across-lines",
    ),
    pytest.param(
        [("A", 5)],
        [("A", 2, NOTIFY, 0)],
        LC,
        (ProductPolicy(REF, cap=1),),
        [(4, 1, 2, "backorder_cap_reached")],
        id="cap-lc-kept-units-take-stock",
    ),
    pytest.param(
        [("A", 5)],
        [("A", 0, NO, 0)],
        SA,
        (ProductPolicy(REF, allow_backorder=True, cap=100),),
        [(0, 5, 0, "line_backordered")],
        id="policy-allows",
    ),
    pytest.param(
        [("A", 5)],
        [("A", 0, NOTIFY, 0)],
        SA,
        (ProductPolicy(REF, allow_backorder=False),),
        [(5, 0, 5, "oversold_not_backorderable")],
        id="policy-forbids",
    ),
]


@pytest.mark.parametrize(("lines", "stocks", "condition", "products", "expected"), DECISIONS)
def test_line_decisions(
    lines: list[tuple[str, int]],
    stocks: list[tuple[str, int, BackorderMode, int]],
    condition: DeliveryCondition,
    products: tuple[ProductPolicy, ...],
    expected: list[tuple[int, int, int, str]],
) -> None:
    mapping = dict(stock(p, a, m, open_backorder_qty=o) for p, a, m, o in stocks)
    assert _decide(lines, mapping, condition, products) == expected


def test_unmanaged_stock_is_never_short() -> None:
    mapping = dict([stock("A", -10, BackorderMode.NO, managed=False)])
    assert _decide([("A", 5)], mapping) == [(5, 0, 0, "stock_not_managed")]


def test_unknown_stock_keeps_the_line_and_alerts() -> None:
    o = order(line("1", "A", 5, "5.00"))
    (d,) = decide_lines(o, {}, Policies(), SA)
    assert (d.keep, d.backorder, d.oversold) == (5, 0, 0)
    assert d.alert is not None and d.alert.code == "stock_unknown"
    assert d.alert.line_id == "1"


def test_variants_are_separate_stock() -> None:
    o = order(
        line("1", "A", 2, "2.00", variant_id="red"), line("2", "A", 2, "2.00", variant_id="blue")
    )
    mapping = dict([stock("A", 2, variant_id="red"), stock("A", 0, variant_id="blue")])
    decisions = decide_lines(o, mapping, Policies(), SA)
    assert [(d.keep, d.backorder) for d in decisions] == [(2, 0), (0, 2)]


def test_cap_message_explains_the_numbers() -> None:
    o = order(line("1", "A", 5, "5.00"))
    mapping = dict([stock("A", 0, open_backorder_qty=8)])
    (d,) = decide_lines(o, mapping, Policies(products=(ProductPolicy(REF, cap=10),)), SA)
    assert d.reason == d.alert
    assert d.reason.message == (
        "'Product A' (SKU SKU-A): 5 of 5 units are out of stock; the backorder cap of 10 units "
        "(8 already on backorder) leaves room for 2, so 2 go on backorder and 3 stay on the "
        "order without stock (oversold)."
    )


def test_cap_counts_earlier_lines_of_the_same_order_in_the_message() -> None:
    o = order(line("1", "A", 3, "3.00"), line("2", "A", 1, "1.00"))
    mapping = dict([stock("A", 0, open_backorder_qty=1)])
    policies = Policies(products=(ProductPolicy(REF, cap=4),))
    first, second = decide_lines(o, mapping, policies, SA)
    assert (first.backorder, second.backorder, second.oversold) == (3, 0, 1)
    assert first.alert is None
    assert second.reason.message == (
        "'Product A' (SKU SKU-A): 1 of 1 unit is out of stock; the backorder cap of 4 units "
        "(4 already on backorder) leaves room for 0, so 0 go on backorder and 1 stay on the "
        "order without stock (oversold)."
    )


def test_a_line_without_a_product_is_kept_and_never_backordered() -> None:
    # WooCommerce keeps a line whose product id named nothing as product 0, priced 0.00.
    o = order(line("1", "0", 2, "0.00"), line("2", "A", 3, "3.00"))
    mapping = dict([stock("0", 0, BackorderMode.YES), stock("A", 1)])

    ghost, short = decide_lines(o, mapping, Policies(), SA)

    assert (ghost.keep, ghost.backorder, ghost.oversold, ghost.alert) == (2, 0, 0, None)
    assert ghost.reason.code == "no_product"
    assert ghost.reason.message == (
        "'Product 0' (SKU SKU-0): names no product in the store, so it cannot be backordered; "
        "it stays on the order."
    )
    assert ghost.reason.line_id == "1"
    assert (short.keep, short.backorder) == (1, 2)
