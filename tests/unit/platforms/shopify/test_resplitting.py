"""The re-split of a held part in Shopify's terms (plugin/platforms/shopify/resplitting.py): which
units stay, which move, what a crash left, and the requests made in each case."""

from __future__ import annotations

import json
from typing import Any

import pytest

from plugin.core.model import Links, StoreSettings
from plugin.core.split import plan_resplit
from plugin.errors import PermanentError
from plugin.platforms.shopify.resplitting import (
    HOLD_REST,
    SPLIT,
    quantities_of,
    shares,
    split_off,
    unrecorded_part,
)
from tests.unit.core.builders import line, order

ORDER = "gid://shopify/Order/1"


def _fo(
    n: int, status: str, lines: dict[int, int], handles: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/FulfillmentOrder/{n}",
        "status": status,
        "fulfillmentHolds": [{"id": f"h{n}{h}", "handle": h} for h in handles],
        "lineItems": {
            "nodes": [
                {
                    "id": f"gid://shopify/FulfillmentOrderLineItem/{n}{line}",
                    "remainingQuantity": units,
                    "lineItem": {"id": f"gid://shopify/LineItem/{line}"},
                }
                for line, units in lines.items()
            ]
        },
    }


def _data(*fulfillment_orders: dict[str, Any], splits: dict[str, Any] | None = None) -> Any:
    recorded = {"1:1": {"number": "1001-001", "fulfillment_order": "20"}, **(splits or {})}
    return {
        "id": ORDER,
        "fulfillmentOrders": {"nodes": list(fulfillment_orders)},
        "metafield": {"value": json.dumps(recorded)},
    }


def _plan(released: dict[str, int]) -> Any:
    held = order(
        line("7", "70", 3, "30.00", variant_id="700"),
        line("8", "80", 2, "8.00", variant_id="800"),
        order_id="fo-20", number="1001-001", links=Links(parent_id="1", is_backorder_order=True),
    )  # fmt: skip
    return plan_resplit(
        held, released, original_number="1001", taken_numbers=["1001-001"],
        settings=StoreSettings(),
    )  # fmt: skip


class Recorder:
    """A client that records the mutations asked of it and answers as Shopify would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def mutate(self, query: str, variables: Any, payload: str) -> Any:
        self.calls.append((payload, variables))
        if query == SPLIT:
            return {
                "fulfillmentOrderSplits": [
                    {
                        "fulfillmentOrder": {"id": variables["splits"][0]["fulfillmentOrderId"]},
                        "remainingFulfillmentOrder": {"id": "gid://shopify/FulfillmentOrder/31"},
                        "replacementFulfillmentOrder": None,
                    }
                ]
            }
        assert query == HOLD_REST
        return {"fulfillmentHold": {"id": "h", "handle": variables["hold"]["handle"]}}


def test_shares_and_quantities() -> None:
    plan = _plan({"7": 1, "8": 2})
    assert shares(plan) == ({"7": 1, "8": 2}, {"7": 2})
    assert quantities_of(_fo(20, "ON_HOLD", {7: 3, 8: 0})) == {"7": 3}


def test_the_units_that_ship_stay_and_the_rest_is_held_under_the_resplit_handle() -> None:
    client = Recorder()
    held = _fo(20, "ON_HOLD", {7: 3, 8: 2}, ("backorders-1-1",))
    plan = _plan({"7": 1, "8": 2})

    assert split_off(client, _data(held, _fo(21, "OPEN", {9: 1})), "20", plan) == "31"

    assert client.calls == [
        (
            "fulfillmentOrderSplit",
            {
                "splits": [
                    {
                        "fulfillmentOrderId": held["id"],
                        "fulfillmentOrderLineItems": [
                            {"id": "gid://shopify/FulfillmentOrderLineItem/207", "quantity": 1},
                            {"id": "gid://shopify/FulfillmentOrderLineItem/208", "quantity": 2},
                        ],
                    }
                ]
            },
        ),
        (
            "fulfillmentOrderHold",
            {
                "id": "gid://shopify/FulfillmentOrder/31",
                "hold": {
                    "reason": "INVENTORY_OUT_OF_STOCK",
                    "reasonNotes": "Backorder 1001-002",
                    "handle": "backorders-resplit-fo-20",
                    "notifyMerchant": False,
                },
            },
        ),
    ]


def test_after_a_crash_between_split_and_hold_the_unrecorded_part_is_held_not_split() -> None:
    client = Recorder()
    plan = _plan({"7": 1, "8": 2})
    held = _fo(20, "ON_HOLD", {7: 1, 8: 2}, ("backorders-1-1",))
    made = _fo(31, "ON_HOLD", {7: 2}, ("backorders-1-1",))
    data = _data(held, _fo(21, "OPEN", {9: 1}), made)
    assert unrecorded_part(data, held, {"7": 2}) is made

    assert split_off(client, data, "20", plan) == "31"

    assert [payload for payload, _ in client.calls] == ["fulfillmentOrderHold"]


@pytest.mark.parametrize(
    "data",
    [
        # held under the re-split's handle already
        _data(
            _fo(20, "ON_HOLD", {7: 1, 8: 2}),
            _fo(31, "ON_HOLD", {7: 2}, ("backorders-1-1", "backorders-resplit-fo-20")),
        ),
        # recorded in the metafield already
        _data(
            _fo(20, "ON_HOLD", {7: 1, 8: 2}),
            _fo(31, "ON_HOLD", {7: 2}),
            splits={"resplit:fo-20": {"number": "1001-002", "fulfillment_order": "31"}},
        ),
    ],
)
def test_a_part_already_made_is_found_and_nothing_written(data: Any) -> None:
    client = Recorder()
    assert split_off(client, data, "20", _plan({"7": 1, "8": 2})) == "31"
    assert client.calls == []


@pytest.mark.parametrize(
    "held",
    [
        _fo(20, "OPEN", {7: 3, 8: 2}),  # released meanwhile
        _fo(20, "ON_HOLD", {7: 2, 8: 2}),  # changed in the admin
        _fo(20, "ON_HOLD", {7: 1, 8: 2}),  # split, but no part holds the rest
    ],
)
def test_a_part_that_is_not_as_planned_is_refused_and_nothing_written(held: Any) -> None:
    client = Recorder()
    with pytest.raises(PermanentError) as refused:
        split_off(client, _data(held), "20", _plan({"7": 1, "8": 2}))
    assert refused.value.reason == "resplit_mismatch"
    assert client.calls == []


def test_an_order_held_whole_splits_its_held_fulfillment_order() -> None:
    client = Recorder()
    held = _fo(40, "ON_HOLD", {7: 3, 8: 2}, ("backorders-hold-1",))
    data = _data(_fo(20, "ON_HOLD", {9: 1}), held)  # fo 20: a recorded part, not this one

    assert split_off(client, data, None, _plan({"7": 1, "8": 2})) == "31"

    assert [(p, v.get("splits", [{}])[0].get("fulfillmentOrderId")) for p, v in client.calls] == [
        ("fulfillmentOrderSplit", held["id"]),
        ("fulfillmentOrderHold", None),
    ]


def test_an_order_held_whole_on_two_fulfillment_orders_is_refused_and_nothing_written() -> None:
    client = Recorder()
    data = _data(_fo(40, "ON_HOLD", {7: 3}), _fo(41, "ON_HOLD", {8: 2}))
    with pytest.raises(PermanentError) as refused:
        split_off(client, data, None, _plan({"7": 1, "8": 2}))
    assert refused.value.reason == "unsupported_split"
    assert client.calls == []
