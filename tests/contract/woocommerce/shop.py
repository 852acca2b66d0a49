"""Products and orders a contract test makes on the store under test, and their removal.

Plain REST calls through the plugin's own client (not the platform adapter under test). Every
name and SKU carries the run id, so tests never meet what a real store already holds; `clean_up`
deletes, permanently, every order and product made (and the orders the plugin made from them).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from plugin.errors import NotFound
from plugin.platforms.woocommerce.client import WooCommerceClient

BILLING = {
    "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
    "address_1": "1 Loop Rd", "city": "London", "postcode": "N1", "country": "GB",
}  # fmt: skip
SHIPPING = {k: v for k, v in BILLING.items() if k != "email"}


class Shop:
    """Makes products and orders with unique names; remembers them for `clean_up`."""

    def __init__(self, client: WooCommerceClient, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self._numbers = itertools.count(1)
        self.product_ids: list[int] = []
        self.order_ids: list[int] = []

    def unique(self, name: str) -> str:
        return f"{name} {self.run_id}-{next(self._numbers)}"

    # -- products -------------------------------------------------------------------------

    def product(
        self,
        name: str,
        *,
        price: str = "10.00",
        stock: int | None = None,
        backorders: str = "no",
        status: str = "publish",
    ) -> dict[str, Any]:
        """A simple product, published unless `status` says otherwise (products.md: draft,
        pending, private, publish); `stock=None` leaves its stock unmanaged."""
        unique = self.unique(name)
        body: dict[str, Any] = {
            "name": unique, "type": "simple", "regular_price": price, "status": status,
            "sku": unique.replace(" ", "-").upper(),
        }  # fmt: skip
        if stock is None:
            body["manage_stock"] = False
        else:
            body.update(manage_stock=True, stock_quantity=stock, backorders=backorders)
        product = dict(self.client.post("/products", body))
        self.product_ids.append(int(product["id"]))
        return product

    def variable_product(
        self, name: str, sizes: Mapping[str, tuple[int, str]], *, price: str = "30.00"
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """A variable product with one variation per size: {size: (stock, backorders)}."""
        unique = self.unique(name)
        parent = dict(
            self.client.post(
                "/products",
                {"name": unique, "type": "variable", "status": "publish",
                 "sku": unique.replace(" ", "-").upper(),
                 "attributes": [{"name": "Size", "options": list(sizes), "visible": True,
                                 "variation": True}]},
            )
        )  # fmt: skip
        self.product_ids.append(int(parent["id"]))
        variations: dict[str, dict[str, Any]] = {}
        for size, (stock, backorders) in sizes.items():
            variations[size] = dict(
                self.client.post(
                    f"/products/{parent['id']}/variations",
                    {"regular_price": price, "manage_stock": True, "stock_quantity": stock,
                     "backorders": backorders, "attributes": [{"name": "Size", "option": size}]},
                )
            )  # fmt: skip
        return parent, variations

    def stock(self, product_id: int, variation_id: int | None = None) -> int | None:
        path = f"/products/{product_id}" + (f"/variations/{variation_id}" if variation_id else "")
        quantity = self.client.get(path)["stock_quantity"]
        return None if quantity is None else int(quantity)

    # -- orders ---------------------------------------------------------------------------

    def order(
        self,
        lines: Sequence[Mapping[str, Any]],
        *,
        status: str = "processing",
        paid: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        """An order with these `line_items` (product_id, variation_id, quantity, ...)."""
        body: dict[str, Any] = {
            "status": status, "set_paid": paid, "payment_method": "bacs",
            "payment_method_title": "Direct bank transfer", "billing": BILLING,
            "shipping": SHIPPING, "line_items": [dict(line) for line in lines],
        }  # fmt: skip
        body.update(fields)
        order = dict(self.client.post("/orders", body))
        self.order_ids.append(int(order["id"]))
        return order

    def adopt(self, order_id: int | str) -> None:
        """An order made by someone else (the plugin) that `clean_up` must delete too."""
        self.order_ids.append(int(order_id))

    def get_order(self, order_id: int | str) -> dict[str, Any]:
        return dict(self.client.get(f"/orders/{int(order_id)}"))

    def children(self, order_id: int | str) -> list[dict[str, Any]]:
        return list(self.client.list_orders(parent=[order_id], status="any"))

    def notes(self, order_id: int | str) -> list[dict[str, Any]]:
        return list(self.client.get(f"/orders/{int(order_id)}/notes"))

    # -- clean up ---------------------------------------------------------------------------

    def clean_up(self) -> None:
        """Delete every order made here and their child orders, then every product."""
        orders = list(dict.fromkeys(self.order_ids))
        for order_id in list(orders):
            with contextlib.suppress(NotFound):
                orders += [int(child["id"]) for child in self.children(order_id)]
        for order_id in reversed(list(dict.fromkeys(orders))):
            with contextlib.suppress(NotFound):
                self.client.delete(f"/orders/{order_id}", {"force": True})
        for product_id in reversed(self.product_ids):
            with contextlib.suppress(NotFound):
                self.client.delete(f"/products/{product_id}", {"force": True})
        self.order_ids.clear()
        self.product_ids.clear()
