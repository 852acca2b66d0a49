"""Variations drawing on their parent's stock (`manage_stock: "parent"`), against a real sandbox
store process on 127.0.0.1: the split and allocation use cases with the WooCommerce connector
and the plugin's SQLite storage count the parent's one figure once, not once per variation.

WooCommerce: a variation that does not manage its own stock while its parent does shows the
parent's `stock_quantity` and `backorders`, and its orders change the parent's figure
(class-wc-product-variation.php `get_manage_stock`, `get_stock_managed_by_id`;
wc-stock-functions.php `wc_update_product_stock`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.stores import StoreRecord
from plugin.ports import ReleaseState
from plugin.usecases.releasing import release_key
from tests.integration.releasing.test_held_stock_on_sandbox import KEY, SECRET, Shop, stock
from tests.processes import running_sandbox


@pytest.fixture(scope="module")
def store_url() -> Iterator[str]:
    with running_sandbox(KEY, SECRET) as url:
        yield url


def shirts(shop: Shop, units: int) -> tuple[int, int, int]:
    """A shirt keeping `units` in stock (backorders allowed) with variations red and blue that
    draw on it (posted without stock of their own, and with "parent")."""
    shirt = int(
        shop.call("POST", "/products", {
            "name": "Shirt", "type": "variable", "manage_stock": True, "stock_quantity": units,
            "backorders": "notify",
        })["id"]
    )  # fmt: skip
    red, blue = (
        int(shop.call("POST", f"/products/{shirt}/variations",
                      {"regular_price": "20.00", "manage_stock": manage})["id"])
        for manage in (False, "parent")
    )  # fmt: skip
    for variation in (red, blue):
        shown = shop.call("GET", f"/products/{shirt}/variations/{variation}")
        assert (shown["manage_stock"], shown["stock_quantity"]) == ("parent", units)
    return shirt, red, blue


def test_one_parent_unit_ships_one_of_two_variations_ordered(
    store_url: str, db: Database, store: StoreRecord
) -> None:
    shop = Shop(store_url, db, store)
    shirt, red, blue = shirts(shop, 1)
    order = shop.order(
        [{"product_id": shirt, "variation_id": red, "quantity": 1},
         {"product_id": shirt, "variation_id": blue, "quantity": 1}],
        paid=True,
    )  # fmt: skip
    assert stock(shop, shirt) == -1  # the store took both units from the parent's figure
    platform = shop.platform()

    result = shop.split(order, platform)

    assert result.status == "split"
    assert platform.calls == 4  # order, the variations of one product, batch, note
    assert shop.lines(order) == [(shirt, red, 1)]
    backorder = shop.backorder_of(order)
    assert shop.lines(int(backorder["id"])) == [(shirt, blue, 1)]
    assert backorder["status"] == "on-hold"
    assert stock(shop, shirt) == -1 == -shop.waiting(shirt, blue)


def test_one_parent_unit_arriving_releases_the_older_of_two_variations_waiting(
    store_url: str, db: Database, store: StoreRecord
) -> None:
    shop = Shop(store_url, db, store)
    shirt, red, blue = shirts(shop, 0)
    mug = shop.product("Mug", 50, "no")
    waiting = []
    for variation in (red, blue):
        order = shop.order(
            [{"product_id": shirt, "variation_id": variation, "quantity": 1},
             {"product_id": mug, "quantity": 1}],
            paid=False,
        )  # fmt: skip
        assert shop.split(order).status == "split"
        waiting.append(int(shop.backorder_of(order)["id"]))
    red_backorder, blue_backorder = waiting
    assert stock(shop, shirt) == -2

    shop.call("PUT", f"/products/{shirt}", {"stock_quantity": -1})  # 1 arrives

    assert shop.allocate(shirt) == (str(red_backorder),)
    assert shop.allocate(shirt) == ()  # red's unit is held for its payment: blue waits
    statuses = [shop.call("GET", f"/orders/{i}")["status"] for i in waiting]
    assert statuses == ["pending", "on-hold"]
    assert shop.releases.get(store.id, release_key(str(blue_backorder))) is None
    shop.pay(red_backorder)
    assert stock(shop, shirt) == -1 == -shop.waiting(shirt, blue)


def test_a_unit_promised_to_an_unpaid_red_is_neither_shipped_nor_released_to_blue(
    store_url: str, db: Database, store: StoreRecord
) -> None:
    shop = Shop(store_url, db, store)
    shirt, red, blue = shirts(shop, 0)
    mug = shop.product("Mug", 50, "no")
    first = shop.order(
        [{"product_id": shirt, "variation_id": red, "quantity": 1},
         {"product_id": mug, "quantity": 1}],
        paid=False,
    )  # fmt: skip
    assert shop.split(first).status == "split"
    red_backorder = int(shop.backorder_of(first)["id"])
    shop.call("PUT", f"/products/{shirt}", {"stock_quantity": 0})  # 1 arrives
    assert shop.allocate(shirt) == (str(red_backorder),)
    assert shop.call("GET", f"/orders/{red_backorder}")["status"] == "pending"
    assert stock(shop, shirt) == 1  # given back by pending: free in looks, red's in fact

    second = shop.order(
        [{"product_id": shirt, "variation_id": blue, "quantity": 1},
         {"product_id": mug, "quantity": 1}],
        paid=True,
    )  # fmt: skip
    assert shop.split(second).status == "split"

    assert shop.lines(second) == [(mug, 0, 1)]  # blue does not ship red's unit
    blue_backorder = int(shop.backorder_of(second)["id"])
    assert shop.lines(blue_backorder) == [(shirt, blue, 1)]
    # Nor does allocation hand it to the blue backorder order.
    assert shop.allocate(shirt) == ()
    assert shop.call("GET", f"/orders/{blue_backorder}")["status"] == "on-hold"
    assert shop.releases.get(store.id, release_key(str(blue_backorder))) is None

    shop.pay(red_backorder)  # red pays: the unit is taken again
    assert stock(shop, shirt) == -1 == -shop.waiting(shirt, blue)
    shop.call("PUT", f"/products/{shirt}", {"stock_quantity": 0})  # another arrives: blue's
    assert shop.allocate(red) == ()  # a job named for a variation counts only red's claims
    assert shop.allocate(shirt) == (str(blue_backorder),)
    record = shop.releases.get(store.id, release_key(str(red_backorder)))
    assert record is not None and record.state == ReleaseState.SETTLED
    assert stock(shop, shirt) == 0 and shop.waiting(shirt, blue) == 0
