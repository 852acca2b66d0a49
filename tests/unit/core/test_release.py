"""Release allocation: priority and age order, delivery conditions, exact reasons."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from plugin.core.model import DeliveryCondition, ProductRef
from plugin.core.release import OpenBackorder, OpenLine, plan_release
from plugin.core.serialize import release_from_dict, release_to_dict

SA, LC, WO = (
    DeliveryCondition.SHIP_AVAILABLE,
    DeliveryCondition.LINES_COMPLETE,
    DeliveryCondition.WHOLE_ORDER,
)
A, B = ProductRef("A"), ProductRef("B")
DAY = dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC)


def backorder(
    order_id: str,
    lines: list[tuple[ProductRef, int]],
    priority: int = 0,
    days_old: int = 0,
    delivery: DeliveryCondition = SA,
) -> OpenBackorder:
    return OpenBackorder(
        order_id=order_id,
        priority=priority,
        created_at=DAY - dt.timedelta(days=days_old),
        delivery=delivery,
        lines=tuple(OpenLine(f"{order_id}-{i}", ref, q) for i, (ref, q) in enumerate(lines, 1)),
        number=f"N{order_id}",
    )


def given(available: dict[ProductRef, int], *orders: OpenBackorder) -> dict[str, list[int]]:
    result = plan_release(available, orders)
    return {o.order_id: [line.allocated for line in o.lines] for o in result.orders}


CASES = [
    pytest.param(
        {A: 5},
        [backorder("1", [(A, 3)], days_old=1), backorder("2", [(A, 3)], days_old=2)],
        {"2": [3], "1": [2]},
        id="oldest-first",
    ),
    pytest.param(
        {A: 5},
        [backorder("1", [(A, 3)], days_old=9), backorder("2", [(A, 4)], priority=5)],
        {"2": [4], "1": [1]},
        id="priority-before-age",
    ),
    pytest.param(
        {A: 5},
        [backorder("1", [(A, 6)], delivery=LC, days_old=2), backorder("2", [(A, 4)], days_old=1)],
        {"1": [0], "2": [4]},
        id="lines-complete-does-not-block-later-orders",
    ),
    pytest.param(
        {A: 5, B: 1},
        [backorder("1", [(A, 2), (B, 2)], delivery=LC)],
        {"1": [2, 0]},
        id="lines-complete-per-line",
    ),
    pytest.param(
        {A: 5, B: 1},
        [backorder("1", [(A, 2), (B, 2)], delivery=WO, days_old=1), backorder("2", [(A, 9)])],
        {"1": [0, 0], "2": [5]},
        id="whole-order-needs-every-line",
    ),
    pytest.param(
        {A: 4, B: 2},
        [backorder("1", [(A, 2), (B, 2), (A, 2)], delivery=WO)],
        {"1": [2, 2, 2]},
        id="whole-order-shared-product",
    ),
    pytest.param(
        {A: 3},
        [backorder("1", [(A, 2), (A, 2)], delivery=WO)],
        {"1": [0, 0]},
        id="whole-order-shared-product-short",
    ),
    pytest.param(
        {A: -3, B: 2},
        [backorder("1", [(A, 1), (B, 1), (ProductRef("C"), 1)])],
        {"1": [0, 1, 0]},
        id="negative-and-unknown-stock",
    ),
    pytest.param(
        {A: 5},
        [backorder("b", [(A, 3)]), backorder("a", [(A, 3)])],
        {"a": [3], "b": [2]},
        id="tie-broken-by-order-id",
    ),
]


@pytest.mark.parametrize(("available", "orders", "expected"), CASES)
def test_allocation(
    available: dict[ProductRef, int], orders: list[OpenBackorder], expected: dict[str, list[int]]
) -> None:
    result = given(available, *orders)
    assert result == expected
    assert list(result) == list(expected)  # served in this order


def test_reasons_and_remaining_stock() -> None:
    result = plan_release(
        {A: 5, B: 0},
        [
            backorder("1", [(A, 3)], priority=5),
            backorder("2", [(A, 4)], days_old=3),
            backorder("3", [(A, 1), (B, 1)], delivery=WO, days_old=4),
        ],
    )
    assert [(o.order_id, o.rank, o.allocated, o.complete) for o in result.orders] == [
        ("1", 1, 3, True),
        ("3", 2, 0, False),
        ("2", 3, 2, False),
    ]
    assert [o.reason.code for o in result.orders] == [
        "release_complete",
        "release_none",
        "release_partial",
    ]
    assert result.orders[0].reason.message == (
        "Order N1 gets all 3 units it waits for (priority 5, created 2026-11-01 09:30 UTC; "
        "served 1st of 3)."
    )
    assert result.orders[1].reason.message == (
        "Order N3 gets nothing yet: it ships as a whole and not all of it is available "
        "(priority 0, created 2026-10-28 09:30 UTC; served 2nd of 3)."
    )
    assert result.orders[2].reason.message == (
        "Order N2 gets 2 of 4 units (priority 0, created 2026-10-29 09:30 UTC; served 3rd of 3); "
        "what is in stock ships now; the rest moves to a new backorder order and waits for more "
        "stock."
    )
    assert result.remaining == ((A, 0), (B, 0))
    assert result.for_order("2") is result.orders[2]
    assert result.for_order("404") is None


def test_result_round_trips_through_json() -> None:
    result = plan_release({A: 2}, [backorder("1", [(A, 3), (B, 1)]), backorder("2", [(A, 1)])])
    data = release_to_dict(result)
    assert data["remaining"] == [{"ref": {"product_id": "A", "variant_id": None}, "quantity": 0}]
    assert release_from_dict(json.loads(json.dumps(data))) == result


@pytest.mark.parametrize(
    ("orders", "message"),
    [
        (
            [
                OpenBackorder("1", 0, dt.datetime(2026, 1, 1), SA, ()),  # naive on purpose
            ],
            "order 1: created_at must be timezone-aware",
        ),
        ([backorder("1", [(A, 1)]), backorder("1", [(A, 2)])], "order 1 is listed twice"),
    ],
)
def test_invalid_queues_are_refused(orders: list[OpenBackorder], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_release({A: 1}, orders)


def test_nothing_is_released_when_nothing_arrives() -> None:
    result = plan_release({}, [backorder("1", [(A, 2)], delivery=LC)])
    (order,) = result.orders
    assert (order.allocated, order.reason.code) == (0, "release_none")
    assert order.reason.message.startswith(
        "Order N1 gets nothing yet: no line's whole quantity is available"
    )
    assert result.remaining == ()
