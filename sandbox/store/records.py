"""Looking up internal records, and the order facts derived from them."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from sandbox.store.contract import (
    NEEDS_PAYMENT_STATUSES,
    money,
)
from sandbox.store.db import StoreBase


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
