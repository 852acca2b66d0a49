"""Demo data for ``--seed demo``: every stock situation the plugin must handle."""

from __future__ import annotations

from typing import Any

from sandbox.woocommerce.store import Store

# (name, sku, price, manage_stock, stock_quantity, backorders)
DEMO_PRODUCTS: list[tuple[str, str, str, bool, int | None, str]] = [
    ("Blue Mug", "MUG-BLUE", "12.00", True, 25, "no"),
    ("Linen Apron", "APRON-LINEN", "29.50", True, 8, "notify"),
    ("Tea Towel", "TOWEL-TEA", "7.25", False, None, "no"),
    ("Walnut Board", "BOARD-WALNUT", "45.00", True, 0, "notify"),
    ("Copper Kettle", "KETTLE-COPPER", "89.00", True, 0, "yes"),
    ("Stoneware Bowl", "BOWL-STONE", "18.00", True, 0, "no"),
    ("Cast Iron Pan", "PAN-IRON", "54.00", True, 2, "notify"),
]
DEMO_CUSTOMERS: list[dict[str, Any]] = [
    {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "billing": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "address_1": "12 St James's Sq",
            "city": "London",
            "postcode": "SW1Y 4JH",
            "country": "GB",
            "email": "ada@example.com",
            "phone": "020 7946 0000",
        },
    },
    {
        "email": "grace@example.com",
        "first_name": "Grace",
        "last_name": "Hopper",
        "billing": {
            "first_name": "Grace",
            "last_name": "Hopper",
            "address_1": "1 Navy Yard",
            "city": "Arlington",
            "state": "VA",
            "postcode": "22202",
            "country": "US",
            "email": "grace@example.com",
            "phone": "(555) 555-0100",
        },
    },
]


def apply_seed(store: Store, name: str) -> None:
    """Load a named seed into an empty store (a store that has products is left alone)."""
    if name != "demo":
        raise ValueError(f"unknown seed {name!r}; available: demo")
    if store.list_products(status="any"):
        return
    for title, sku, price, manage, quantity, backorders in DEMO_PRODUCTS:
        store.create_product(
            {
                "name": title,
                "sku": sku,
                "regular_price": price,
                "manage_stock": manage,
                "stock_quantity": quantity,
                "backorders": backorders,
                "stock_status": "instock",
            }
        )
    shirt = store.create_product(
        {
            "name": "Field Shirt",
            "type": "variable",
            "sku": "SHIRT-FIELD",
            "attributes": [
                {"name": "Size", "variation": True, "visible": True, "options": ["S", "M", "L"]}
            ],
        }
    )
    for size, quantity, backorders in (("S", 5, "no"), ("M", 0, "notify"), ("L", 0, "no")):
        store.create_variation(
            shirt["id"],
            {
                "sku": f"SHIRT-FIELD-{size}",
                "regular_price": "35.00",
                "manage_stock": True,
                "stock_quantity": quantity,
                "backorders": backorders,
                "attributes": [{"name": "Size", "option": size}],
            },
        )
    for customer in DEMO_CUSTOMERS:
        store.create_customer(customer)
