"""WooCommercePlatform's release calls against the sandbox store (real HTTP on loopback)."""

from __future__ import annotations

from plugin.connectors.woocommerce.platform import WooCommercePlatform
from plugin.core.model import ProductRef
from tests.integration.worker.conftest import Sandbox


def test_stock_figure_of_products_and_variations(sandbox: Sandbox) -> None:
    client = sandbox.client()
    counted = client.post("/products", {"name": "A", "manage_stock": True, "stock_quantity": -3,
                                        "backorders": "yes"})  # fmt: skip
    untracked = client.post("/products", {"name": "B", "manage_stock": False})
    parent = client.post("/products", {"name": "C", "type": "variable"})
    variation = client.post(
        f"/products/{parent['id']}/variations", {"manage_stock": True, "stock_quantity": 4}
    )
    platform = WooCommercePlatform(client)

    assert platform.stock_figure(ProductRef(str(counted["id"]))).quantity == -3
    assert platform.stock_figure(ProductRef(str(untracked["id"]))).quantity is None
    assert platform.stock_figure(ProductRef(str(parent["id"]), str(variation["id"]))).quantity == 4


def test_release_order_moves_only_a_held_order_and_returns_the_payment_url(
    sandbox: Sandbox,
) -> None:
    client = sandbox.client()
    product = client.post("/products", {"name": "W", "manage_stock": True, "stock_quantity": 0,
                                        "backorders": "yes"})  # fmt: skip
    lines = [{"product_id": product["id"], "quantity": 2}]
    held = client.post("/orders", {"status": "on-hold", "line_items": lines})
    platform = WooCommercePlatform(client)
    assert platform.reduced_stock(str(held["id"])) == {str(held["line_items"][0]["id"]): 2}

    url = platform.release_order(str(held["id"]), "pending", "release:x")
    after = client.get_order(held["id"])
    calls = client.calls
    again = platform.release_order(str(held["id"]), "pending", "release:x")

    assert url == after["payment_url"] == again
    assert url.startswith(f"{sandbox.url}/checkout/order-pay/{held['id']}/")
    assert after["status"] == "pending"
    assert {m["key"]: m["value"] for m in after["meta_data"]}["backorders_release_key"] == (
        "release:x"
    )
    assert client.calls == calls + 1  # the repeat only read the order
    # on-hold -> pending gave the 2 units back (wc_maybe_increase_stock_levels).
    assert client.get(f"/products/{product['id']}")["stock_quantity"] == 0
    assert platform.reduced_stock(str(held["id"])) == {str(held["line_items"][0]["id"]): 0}
    assert platform.release_order(str(held["id"]), "processing", "release:x") is None
    assert client.get_order(held["id"])["status"] == "pending"  # not on-hold: left alone


def test_get_orders_reads_many_orders_in_one_call_and_leaves_out_deleted_ones(
    sandbox: Sandbox,
) -> None:
    client = sandbox.client()
    product = client.post("/products", {"name": "W", "manage_stock": True, "stock_quantity": 0,
                                        "backorders": "yes"})  # fmt: skip
    lines = [{"product_id": product["id"], "quantity": 2}]
    held = [client.post("/orders", {"status": "on-hold", "line_items": lines}) for _ in range(3)]
    gone = client.post("/orders", {"status": "on-hold", "line_items": lines})
    client.delete(f"/orders/{gone['id']}", {"force": "true"})
    platform = WooCommercePlatform(client)
    wanted = [str(held[2]["id"]), str(gone["id"]), str(held[0]["id"]), str(held[1]["id"])]

    calls = client.calls
    orders = platform.get_orders(wanted)

    assert client.calls == calls + 1
    assert [o.id for o in orders] == [str(held[2]["id"]), str(held[0]["id"]), str(held[1]["id"])]
    # Remembered: the reduced stock of each comes without another call.
    line = str(held[0]["line_items"][0]["id"])
    assert platform.reduced_stock(str(held[0]["id"])) == {line: 2}
    assert client.calls == calls + 1
    assert platform.get_orders([]) == [] and client.calls == calls + 1
