"""How orders move product stock: reduce, restore and per-line adjustments.

The stock rules themselves (statuses, backorders) live in ``sandbox/woocommerce/stock.py``.
"""

from __future__ import annotations

from typing import Any

from sandbox.woocommerce.store.notes import Notes
from sandbox.woocommerce.store.products import Products


class OrderStock(Products, Notes):
    """Stock changes caused by orders, recorded per line in ``_reduced_stock`` meta."""

    def _line_stock_product(self, line: dict[str, Any]) -> dict[str, Any] | None:
        """The record whose figure the line's stock changes: a variation's parent when the
        parent keeps its stock (`_stock_owner`)."""
        product = self._product(line["variation_id"] or line["product_id"])
        return self._stock_owner(product) if product is not None else None

    def _reduced(self, line: dict[str, Any]) -> int:
        meta = next((m for m in line["meta_data"] if m["key"] == "_reduced_stock"), None)
        return int(meta["value"]) if meta else 0

    def _set_reduced(self, line: dict[str, Any], quantity: int | None) -> None:
        line["meta_data"] = [m for m in line["meta_data"] if m["key"] != "_reduced_stock"]
        if quantity is not None:
            line["meta_data"].append(
                {"id": self._next("meta"), "key": "_reduced_stock", "value": str(quantity)}
            )

    def _change_stock(self, product: dict[str, Any], delta: int) -> tuple[int, int]:
        """wc_update_product_stock: change quantity, re-derive status, fire product.updated."""
        before = int(product["stock_quantity"] or 0)
        product["stock_quantity"] = before + delta
        self._after_product_change(product)
        self._emit("product.updated", product["id"])
        return before, before + delta

    def _adjust_line_stock(
        self, order: dict[str, Any], line: dict[str, Any], quantity: int = -1
    ) -> None:
        """wc_maybe_adjust_line_item_product_stock (wc-admin-functions.php)."""
        product = self._line_stock_product(line)
        if product is None:
            return
        item_quantity = quantity if quantity >= 0 else line["quantity"]
        already = self._reduced(line)
        diff = -already if item_quantity == 0 else item_quantity - already
        if diff == 0:
            return
        self._change_stock(product, -diff)
        self._set_reduced(line, item_quantity)
        if item_quantity > 0:
            order["stock_reduced"] = True

    def _reduce_stock(self, order: dict[str, Any]) -> None:
        """wc_maybe_reduce_stock_levels + wc_reduce_stock_levels."""
        if order["stock_reduced"]:
            return
        changes = []
        for line in order["line_items"]:
            product = self._line_stock_product(line)
            if product is None or self._reduced(line):
                continue
            before, after = self._change_stock(product, -line["quantity"])
            self._set_reduced(line, line["quantity"])
            changes.append(f"{line['name']} {before}&rarr;{after}")
        if changes:
            self._add_note(order, "Stock levels reduced: " + ", ".join(changes))
        order["stock_reduced"] = True

    def _restore_stock(self, order: dict[str, Any]) -> None:
        """wc_maybe_increase_stock_levels + wc_increase_stock_levels."""
        if not order["stock_reduced"]:
            return
        changes = []
        for line in order["line_items"]:
            product = self._line_stock_product(line)
            reduced = self._reduced(line)
            if product is None or not reduced:
                continue
            before, after = self._change_stock(product, reduced)
            self._set_reduced(line, None)
            changes.append(f"{line['name']} {before}&rarr;{after}")
        if changes:
            self._add_note(order, "Stock levels increased: " + ", ".join(changes))
        order["stock_reduced"] = False
