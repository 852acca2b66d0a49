"""Releasing a held backorder order through the platform adapter, on the sandbox and a real
store: product stock reads, the move out of on-hold, the payment URL and the stock it gives."""

from __future__ import annotations

from plugin.core.model import ProductRef
from tests.contract.woocommerce.conftest import StoreUnderTest
from tests.contract.woocommerce.shop import Shop


def test_stock_figure_of_products_and_variations(woo: StoreUnderTest, shop: Shop) -> None:
    counted = shop.product("Counted", stock=-3, backorders="yes")
    untracked = shop.product("Untracked")
    shirt, sizes = shop.variable_product("Shirt", {"S": (4, "no")})
    platform = woo.platform()

    assert platform.stock_figure(ProductRef(str(counted["id"]))).quantity == -3
    assert platform.stock_figure(ProductRef(str(untracked["id"]))).quantity is None
    assert platform.stock_figure(ProductRef(str(shirt["id"]), str(sizes["S"]["id"]))).quantity == 4
    assert platform.calls == 3


def test_release_moves_only_a_held_order_and_returns_its_payment_url(
    woo: StoreUnderTest, shop: Shop
) -> None:
    board = shop.product("Board", stock=0, backorders="yes")
    held = shop.order([{"product_id": board["id"], "quantity": 2}], status="on-hold", paid=False)
    held_id, line_id = str(held["id"]), str(held["line_items"][0]["id"])
    assert shop.stock(board["id"]) == -2  # on-hold reduces stock
    platform = woo.platform()
    assert platform.reduced_stock(held_id) == {line_id: 2}

    url = platform.release_order(held_id, "pending", "release:x")

    after = shop.get_order(held_id)
    assert after["status"] == "pending"
    assert (
        url
        == after["payment_url"]
        == (f"{woo.url}/checkout/order-pay/{held_id}/?pay_for_order=true&key={after['order_key']}")
    )
    assert {m["key"]: m["value"] for m in after["meta_data"]}["backorders_release_key"] == (
        "release:x"
    )
    # on-hold -> pending gave the 2 units back (wc_maybe_increase_stock_levels).
    assert shop.stock(board["id"]) == 0
    assert woo.platform().reduced_stock(held_id) == {line_id: 0}

    # Repeated: only a read, same URL; to another status: left alone, not on hold any more.
    again = woo.platform()
    assert again.release_order(held_id, "pending", "release:x") == url
    assert again.calls == 1
    assert again.release_order(held_id, "processing", "release:y") is None
    assert shop.get_order(held_id)["status"] == "pending"


def test_release_to_processing_takes_the_stock_again(woo: StoreUnderTest, shop: Shop) -> None:
    board = shop.product("Board", stock=5)
    held = shop.order([{"product_id": board["id"], "quantity": 2}], status="on-hold", paid=True)
    assert shop.stock(board["id"]) == 3
    platform = woo.platform()

    assert platform.release_order(str(held["id"]), "processing", "release:z") is None

    after = shop.get_order(held["id"])
    assert after["status"] == "processing"
    assert shop.stock(board["id"]) == 3  # on-hold -> processing: reduced once, not twice
    assert woo.platform().reduced_stock(str(held["id"])) == {str(held["line_items"][0]["id"]): 2}
