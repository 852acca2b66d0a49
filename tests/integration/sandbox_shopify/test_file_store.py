"""The file-backed shop keeps orders, stock, subscriptions and tokens across restarts."""

from __future__ import annotations

from pathlib import Path

from tests.integration.sandbox_shopify.conftest import running_shop


def test_state_survives_a_restart(tmp_path: Path) -> None:
    data_file = tmp_path / "shop.json"
    with running_shop("--data-file", str(data_file)) as shop:
        number = shop.checkout([("BOARD-WALNUT", 2)])
        shop.subscribe("ORDERS_CREATE", "https://backorders.example/hooks")
    assert data_file.is_file()
    with running_shop("--data-file", str(data_file)) as shop:
        orders = shop.data(
            "{ orders(first: 5) { nodes { name lineItems(first: 5) { nodes { sku quantity } } } } }"
        )
        assert orders["orders"]["nodes"] == [
            {"name": f"#{number}", "lineItems": {"nodes": [{"sku": "BOARD-WALNUT", "quantity": 2}]}}
        ]
        subscriptions = shop.data("{ webhookSubscriptions(first: 5) { nodes { topic } } }")
        assert subscriptions["webhookSubscriptions"]["nodes"] == [{"topic": "ORDERS_CREATE"}]
        board = shop.data(
            '{ productVariants(first: 1, query: "sku:BOARD-WALNUT") '
            "{ nodes { inventoryQuantity } } }"
        )
        assert board["productVariants"]["nodes"] == [{"inventoryQuantity": -2}]
        assert shop.checkout([("MUG-BLUE", 1)]) == str(int(number) + 1)
