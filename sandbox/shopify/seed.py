"""The demo shop: two locations and products that show every stock situation."""

from __future__ import annotations

from sandbox.shopify import catalog
from sandbox.shopify.shop import Shop


def seed_demo(shop: Shop) -> None:
    """Two locations, in-stock, sold-out and backorderable (``CONTINUE``) variants."""
    with shop.lock:
        warehouse = catalog.create_location(shop, "Warehouse", "Newark")["id"]
        floor = catalog.create_location(shop, "Shop floor", "Brooklyn")["id"]
        catalog.create_product(
            shop,
            "Blue Mug",
            [
                {
                    "sku": "MUG-BLUE",
                    "price": "12.00",
                    "policy": "DENY",
                    "stock": {warehouse: 10, floor: 2},
                },
            ],
        )
        catalog.create_product(
            shop,
            "Walnut Board",
            [
                {"sku": "BOARD-WALNUT", "price": "45.00", "policy": "CONTINUE"},
            ],
        )
        catalog.create_product(
            shop,
            "Copper Kettle",
            [
                {
                    "sku": "KETTLE-COPPER",
                    "price": "89.00",
                    "policy": "CONTINUE",
                    "stock": {warehouse: 1},
                },
            ],
        )
        catalog.create_product(
            shop,
            "Linen Apron",
            [
                {"sku": "APRON-LINEN", "price": "25.00", "policy": "DENY"},
            ],
        )
        catalog.create_product(
            shop,
            "Tea Towel",
            [
                {"title": "Red", "sku": "TOWEL-RED", "price": "8.00", "policy": "CONTINUE"},
                {
                    "title": "Green",
                    "sku": "TOWEL-GREEN",
                    "price": "8.00",
                    "policy": "DENY",
                    "stock": {warehouse: 5},
                },
            ],
        )
        shop.take_events()  # a new shop announces nothing


SEEDS = {"demo": seed_demo}
