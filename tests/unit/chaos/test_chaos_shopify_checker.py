"""The Shopify chaos run's check (tests/e2e/chaos_shopify.py) on a sandbox shop built in memory
with the sandbox's own operations (checkout, hold, capture, metafield, stock): a correct split
passes, and each broken invariant is named."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

from sandbox.shopify import catalog, fulfillment, metafields, orders
from sandbox.shopify.shop import Shop
from tests.e2e.chaos_shopify import (
    ShopState,
    arrival_plan,
    outcomes,
    plan_orders,
    violations,
)

APP = "app-1"


class World:
    """A shop with a Warehouse, a mug in stock and a board sold out but sold on (`CONTINUE`)."""

    def __init__(self) -> None:
        self.shop = Shop()
        self.warehouse = catalog.create_location(self.shop, "Warehouse", "Newark")["id"]
        self.mug = self._variant("Mug", "MUG", "10.00", "DENY", 50)
        self.board = self._variant("Board", "BOARD", "40.00", "CONTINUE", 0)

    def _variant(self, title: str, sku: str, price: str, policy: str, stock: int) -> Any:
        product = catalog.create_product(
            self.shop,
            title,
            [{"sku": sku, "price": price, "policy": policy, "stock": {self.warehouse: stock}}],
        )
        return self.shop.table("variants")[product["_variants"][0]]

    def order(self, mugs: int, boards: int, payment: str = "card") -> dict[str, Any]:
        lines = [{"variant": self.mug, "quantity": mugs}] if mugs else []
        lines += [{"variant": self.board, "quantity": boards}] if boards else []
        return orders.create_order(self.shop, lines, email="ada@example.com", payment=payment)

    def split(self, order: dict[str, Any], key: str = "1:1", record: bool = True) -> str:
        """What the connector writes: hold the boards, record the split, capture the mugs."""
        [fo] = self.shop.children("fulfillment_orders", order["_fulfillment_orders"])
        board_line = next(
            e
            for e in self.shop.children("fo_lines", fo["_lines"])
            if self.shop.table("lines")[e["_line"]]["sku"] == "BOARD"
        )
        handle = "backorders-" + key.replace(":", "-")
        _, held, _ = fulfillment.hold(
            self.shop,
            fo["id"],
            {
                "reason": "INVENTORY_OUT_OF_STOCK",
                "handle": handle,
                "fulfillmentOrderLineItems": [
                    {"id": board_line["id"], "quantity": board_line["remainingQuantity"]}
                ],
            },
            APP,
        )
        if record:
            number = f"{order['_number']}-001"
            self.record(order, {key: {"number": number, "fulfillment_order": held["id"]}})
            order["tags"] = ["backorder", f"#{number}"]
        return str(held["id"])

    def record(self, order: dict[str, Any], splits: dict[str, Any]) -> None:
        for entry in splits.values():
            entry["fulfillment_order"] = entry["fulfillment_order"].rsplit("/", 1)[-1]
        metafields.set_metafields(
            self.shop,
            [
                {
                    "ownerId": order["id"],
                    "namespace": "backorders",
                    "key": "splits",
                    "type": "json",
                    "value": json.dumps(splits),
                }
            ],
            "app--1",
        )

    def capture(self, order: dict[str, Any], amount: str) -> None:
        [auth] = [
            t for t in orders.transactions_of(self.shop, order) if t["kind"] == "AUTHORIZATION"
        ]
        orders.capture(self.shop, order["id"], auth["id"], Decimal(amount), "USD", False)

    def receive(self, units: int) -> None:
        item = self.shop.table("items")[self.board["_item"]]
        catalog.change_quantity(self.shop, item, self.warehouse, "available", units)

    def check(self, *placed: dict[str, Any]) -> list[str]:
        return violations(ShopState(self.shop.tables), [o["_number"] for o in placed])


def test_a_correct_split_and_an_untouched_order_pass() -> None:
    world = World()
    split = world.order(mugs=2, boards=1)  # 20.00 ships, 40.00 waits
    world.split(split)
    world.capture(split, "20.00")
    in_stock = world.order(mugs=1, boards=0)
    paid = world.order(mugs=1, boards=0, payment="paid")

    assert world.check(split, in_stock, paid) == []
    assert outcomes(ShopState(world.shop.tables), [split["_number"], in_stock["_number"]]) == {
        "split, part held": 1,
        "nothing held": 1,
    }


def test_an_authorised_split_captured_beyond_what_ships_is_named() -> None:
    world = World()
    order = world.order(mugs=2, boards=1)
    world.split(order)
    world.capture(order, "30.00")

    assert world.check(order) == [
        f"order #{order['_number']}: captured 30.00, what ships is worth 20.00"
    ]


def test_more_captured_than_the_total_is_named() -> None:
    world = World()
    order = world.order(mugs=1, boards=0, payment="paid")
    [sale] = orders.transactions_of(world.shop, order)
    orders.add_transaction(world.shop, order, "CAPTURE", "SUCCESS", Decimal("5.00"), "manual")

    assert sale["kind"] == "SALE"
    assert world.check(order) == [
        f"order #{order['_number']}: captured 15.00, more than its total 10.00",
        f"order #{order['_number']}: paid order captured 15.00, total 10.00",
    ]


def test_a_hold_not_recorded_as_a_split_is_named() -> None:
    world = World()
    order = world.order(mugs=1, boards=1)
    held = world.split(order, record=False)
    world.capture(order, "10.00")

    assert world.check(order) == [
        f"order #{order['_number']}: hold backorders-1-1 on ['{held.rsplit('/', 1)[-1]}'] "
        "not recorded as a split"
    ]


def test_a_second_split_and_a_gap_in_the_numbers_are_named() -> None:
    world = World()
    order = world.order(mugs=1, boards=1)
    held = world.split(order)
    world.capture(order, "10.00")
    world.record(
        order,
        {
            "1:1": {"number": f"{order['_number']}-001", "fulfillment_order": held},
            "1:2": {"number": f"{order['_number']}-003", "fulfillment_order": held},
        },
    )

    number = order["_number"]
    assert world.check(order) == [
        f"order #{number}: split 2 times, expected at most once",
        f"order #{number}: backorder numbers ['{number}-001', '{number}-003'], "
        f"expected ['{number}-001', '{number}-002']",
        f"order #{number}: tags ['#{number}-001', 'backorder'] lack #{number}-003",
    ]


def test_units_shipped_without_stock_are_oversold() -> None:
    world = World()
    order = world.order(mugs=0, boards=3)  # never held: 3 boards on an open order, 0 on hand

    item = world.board["_item"].rsplit("/", 1)[-1]
    location = world.warehouse.rsplit("/", 1)[-1]
    assert world.check(order) == [
        f"item {item} at {location}: 3 units to ship, 0 on hand (oversold)"
    ]


def test_a_hold_left_while_the_stock_covers_it_is_named_and_not_before() -> None:
    world = World()
    order = world.order(mugs=1, boards=2)
    world.split(order)
    world.capture(order, "10.00")
    world.receive(1)
    assert world.check(order) == []  # one of two boards: the hold stays

    world.receive(1)

    problems = world.check(order)
    assert len(problems) == 1
    assert problems[0].startswith(f"order #{order['_number']}: hold backorders-1-1 left while")


def test_a_line_whose_units_do_not_add_up_and_a_stray_order_are_named() -> None:
    world = World()
    order = world.order(mugs=2, boards=0)
    stray = world.order(mugs=1, boards=0)
    [fo] = world.shop.children("fulfillment_orders", order["_fulfillment_orders"])
    [entry] = world.shop.children("fo_lines", fo["_lines"])
    entry["remainingQuantity"] = 1

    assert world.check(order) == [
        f"order #{stray['_number']}: not placed by the run",
        f"order #{order['_number']}: line MUG 1 shipping + 0 held, ordered 2",
    ]


def test_the_plan_is_seeded_with_at_most_one_backordered_line_per_order() -> None:
    first = plan_orders(random.Random(3), 300)
    assert first == plan_orders(random.Random(3), 300)
    assert first != plan_orders(random.Random(4), 300)
    assert {spec.payment for spec in first} == {"card", "paid"}
    for spec in first:
        kinds = [line.kind for line in spec.lines]
        assert kinds.count("backorder") <= 1
        assert len({(line.kind, line.index) for line in spec.lines}) == len(spec.lines)
    assert {tuple(sorted(line.kind for line in spec.lines)) for spec in first} >= {
        ("stock",),
        ("backorder",),
        ("backorder", "stock"),
    }
    arrivals = arrival_plan(random.Random(3), 300)
    assert sum(len(v) for v in arrivals.values()) == 15
    assert all(30 <= at < 300 for at in arrivals)


def test_a_partial_release_with_its_re_split_passes() -> None:
    """1 of 3 held boards arrives: the held fulfillment order is split (Shopify copies its holds
    to the part split off), that part held again under the re-split's own handle and recorded
    `-002`, the board that ships released and captured. The check named this "split 2 times"
    and the first split's handle "held on" the re-split's part."""
    world = World()
    order = world.order(mugs=2, boards=3)
    held = world.split(order)  # 3 boards wait on `held`
    world.capture(order, "20.00")
    [board] = [
        e
        for e in world.shop.children("fo_lines", world.shop.get(held, "FulfillmentOrder")["_lines"])
        if e["remainingQuantity"]
    ]
    [result] = fulfillment.split(
        world.shop,
        [
            {
                "fulfillmentOrderId": held,
                "fulfillmentOrderLineItems": [{"id": board["id"], "quantity": 1}],
            }
        ],
    )
    rest = result["remainingFulfillmentOrder"]
    held_number = held.rsplit("/", 1)[-1]
    fulfillment.hold(
        world.shop,
        rest["id"],
        {"reason": "INVENTORY_OUT_OF_STOCK", "handle": f"backorders-resplit-fo-{held_number}"},
        APP,
    )
    fulfillment.release_hold(world.shop, held, None, None, APP)
    world.receive(1)
    world.capture(order, "40.00")
    number = order["_number"]
    world.record(
        order,
        {
            "1:1": {"number": f"{number}-001", "fulfillment_order": held},
            f"resplit:fo-{held_number}": {
                "number": f"{number}-002",
                "fulfillment_order": rest["id"],
            },
        },
    )
    order["tags"] = ["backorder", f"#{number}-001", f"#{number}-002"]

    assert world.check(order) == []
