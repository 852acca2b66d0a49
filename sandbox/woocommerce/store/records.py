"""Looking up internal records, and the order facts derived from them."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from sandbox.woocommerce.store.contract import (
    NEEDS_PAYMENT_STATUSES,
    money,
)
from sandbox.woocommerce.store.db import StoreBase


class Records(StoreBase):
    """Lookups shared by the representations and the write paths."""

    def product_record(self, product_id: int) -> dict[str, Any] | None:
        """A deep copy of the internal product or variation record."""
        with self._lock:
            record = self._tables["product"].get(product_id)
            return copy.deepcopy(record) if record else None

    def _product(self, product_id: int) -> dict[str, Any] | None:
        record = self._tables["product"].get(product_id)
        if record is None or record["status"] == "__deleted__":
            return None
        return record

    def _children(self, product_id: int) -> list[dict[str, Any]]:
        return sorted(
            (
                p
                for p in self._tables["product"].values()
                if p["type"] == "variation" and p["parent_id"] == product_id
            ),
            key=lambda p: (p["menu_order"], p["id"]),
        )

    def _stock_owner(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The record whose stock figure `record` draws on, None when none is counted.

        A variation that does not manage its own stock while its parent does draws on the
        parent's figure (class-wc-product-variation.php: `get_manage_stock` gives "parent" in
        view context, `get_stock_managed_by_id` the parent's id, and wc-stock-functions.php
        `wc_update_product_stock` changes the product of that id).
        """
        if record["manage_stock"]:
            return record
        if record["type"] == "variation":
            parent = self._product(record["parent_id"])
            if parent is not None and parent["manage_stock"]:
                return parent
        return None

    def _stock_view(self, record: dict[str, Any]) -> dict[str, Any]:
        """`record` with its stock fields as WooCommerce shows them (view context): a variation
        drawing on its parent's figure has `manage_stock` "parent" and the parent's
        `stock_quantity`, `backorders` (WC_Product_Variation getters) and `stock_status`
        (WC_Product_Variable_Data_Store_CPT `sync_managed_variation_stock_status` copies the
        parent's status to such children whenever the parent is saved)."""
        owner = self._stock_owner(record)
        if owner is None or owner is record:
            return record
        view = dict(record)
        view["manage_stock"] = "parent"
        for key in ("stock_quantity", "backorders", "stock_status"):
            view[key] = owner[key]
        return view

    def _price(self, product: dict[str, Any]) -> Decimal:
        if product.get("sale_price") not in (None, ""):
            return money(product["sale_price"])
        return money(product.get("regular_price"))

    def _order(self, order_id: int) -> dict[str, Any] | None:
        return self._tables["order"].get(order_id)

    def order_record(self, order_id: int) -> dict[str, Any] | None:
        """A deep copy of the internal order record (includes ``stock_reduced``)."""
        with self._lock:
            record = self._order(order_id)
            return copy.deepcopy(record) if record else None

    def _needs_processing(self, order: dict[str, Any]) -> bool:
        """WC_Order::needs_processing: a line of a product that is not virtual and
        downloadable; a line without a product (product 0, deleted) is skipped."""
        for line in order["line_items"]:
            product = self._product(line["variation_id"] or line["product_id"])
            if product is not None and not (product["virtual"] and product["downloadable"]):
                return True
        return False

    def _needs_payment(self, order: dict[str, Any]) -> bool:
        return order["status"] in NEEDS_PAYMENT_STATUSES and money(order["total"]) > 0

    def has_order(self, order_id: int) -> bool:
        """Whether an order (any status, trash included) exists."""
        with self._lock:
            return order_id in self._tables["order"]


def variation_title(base: str, attributes: list[dict[str, Any]]) -> str:
    """A variation's display name: "<product> - <option>, <option>" (WC_Product_Variation)."""
    options = ", ".join(a["option"] for a in attributes)
    return f"{base} - {options}" if options else base
