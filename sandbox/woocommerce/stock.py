"""Stock rules of the sandbox store, mirroring WooCommerce's behaviour (not its code).

Facts, each read from WooCommerce's source (plugins/woocommerce/...):

1. Derived product fields (includes/abstracts/abstract-wc-product.php, ``validate_props``,
   ``backorders_allowed``, ``is_on_backorder``):
   - not managing stock -> ``stock_quantity`` null, ``backorders`` forced to "no",
     ``stock_status`` is whatever was set (default "instock");
   - managing stock -> ``stock_status`` = "instock" if quantity > 0 (notify-no-stock amount 0),
     else "onbackorder" if ``backorders`` is "notify" or "yes", else "outofstock";
   - ``backorders_allowed`` = backorders in ("notify", "yes");
   - ``backordered`` (REST) = ``is_on_backorder()`` = stock_status "onbackorder", or managing
     stock with backorders allowed and quantity < 0.
2. When stock goes down (includes/wc-stock-functions.php):
   - ``wc_maybe_reduce_stock_levels`` runs on ``woocommerce_payment_complete`` and on the
     status transitions to processing, completed and on-hold; it does nothing when the order's
     ``_order_stock_reduced`` flag is set, otherwise reduces every line and sets the flag.
   - ``wc_reduce_stock_levels`` skips lines that already carry ``_reduced_stock`` and products
     that do not manage stock; it writes ``_reduced_stock`` = quantity on each reduced line and
     adds the order note "Stock levels reduced: <name> <from>&rarr;<to>".
   - ``wc_maybe_increase_stock_levels`` runs on the transitions to cancelled and pending; only
     when the flag is set, it gives back each line's ``_reduced_stock``, deletes that meta and
     clears the flag ("Stock levels increased: ...").
   - Transitions only exist for an order that was already saved (class-wc-order.php
     ``set_status``): the REST controller saves a new order first and sets the posted status
     afterwards (rest-api/Controllers/Version3/class-wc-rest-orders-controller.php
     ``save_object``), so ``POST /orders`` with status on-hold/processing/completed DOES reduce
     stock, even without ``set_paid`` (WooCommerce's own REST test
     ``test_order_update_line_item_quantity_updates_product_stock``: stock 10, on-hold order
     of 4 -> 6). A new order left "pending" reduces nothing. ``set_paid: true`` calls
     ``payment_complete`` which moves pending/on-hold/failed/cancelled to processing (or
     completed when nothing needs processing) and reduces stock if not yet reduced.
   - Trashing or deleting an order does not touch stock.
3. Editing lines through REST (Version3 ``remove_item``, Version2 ``prepare_line_items`` and
   includes/admin/wc-admin-functions.php ``wc_maybe_adjust_line_item_product_stock``):
   - changing an existing line's quantity adjusts stock by (new quantity - ``_reduced_stock``),
     whatever the order status, then sets ``_reduced_stock`` = new quantity and, if the
     quantity is > 0, sets the order's stock-reduced flag;
   - removing a line (``product_id: null`` or ``quantity: 0``) gives back its
     ``_reduced_stock``; a line never reduced gives back nothing;
   - a line ADDED to an existing order is not reduced (no adjustment on create);
   - changing the quantity does not re-price the line: ``subtotal``/``total`` stay as they were
     unless posted (woocommerce/woocommerce-ios#6138); order totals are re-summed.
4. Backorders: stock may go below zero when backorders are "notify" or "yes" (the REST API does
   not refuse an order beyond stock). A checkout line for a "notify" product that is on
   backorder for the ordered quantity gets the visible meta ``Backordered`` = ordered -
   max(0, stock before the order) (includes/class-wc-order-item-product.php
   ``set_backorder_meta``, called by class-wc-checkout.php); REST-created lines do not get it
   (the REST controller never calls ``set_backorder_meta``).
5. Meta visibility in REST: ``_order_stock_reduced`` is an internal order property and never
   appears in ``meta_data``; line meta such as ``_reduced_stock`` and ``Backordered`` are plain
   item meta and DO appear in ``line_items[].meta_data`` (Version2 ``get_order_item_data``
   returns ``$item->get_data()['meta_data']``) with ``display_key``/``display_value``.
"""

from __future__ import annotations

from typing import Any

BACKORDERS = ("no", "notify", "yes")
STOCK_STATUSES = ("instock", "outofstock", "onbackorder")
# Statuses whose transition triggers wc_maybe_reduce_stock_levels (wc-stock-functions.php).
REDUCING_STATUSES = ("processing", "completed", "on-hold")
# Statuses whose transition triggers wc_maybe_increase_stock_levels (wc-stock-functions.php).
RESTORING_STATUSES = ("cancelled", "pending")


def normalise_stock_fields(product: dict[str, Any]) -> None:
    """Apply WooCommerce's validate_props rules to a product or variation record in place."""
    if not product["manage_stock"]:
        product["stock_quantity"] = None
        product["backorders"] = "no"
        if product.get("stock_status") not in STOCK_STATUSES:
            product["stock_status"] = "instock"
        return
    quantity = int(product["stock_quantity"] or 0)
    product["stock_quantity"] = quantity
    if quantity > 0:
        product["stock_status"] = "instock"
    elif product["backorders"] != "no":
        product["stock_status"] = "onbackorder"
    else:
        product["stock_status"] = "outofstock"


def backorders_allowed(product: dict[str, Any]) -> bool:
    """WC_Product::backorders_allowed."""
    return product["backorders"] in ("notify", "yes")


def backorders_require_notification(product: dict[str, Any]) -> bool:
    """WC_Product::backorders_require_notification."""
    return bool(product["manage_stock"]) and product["backorders"] == "notify"


def is_on_backorder(product: dict[str, Any], quantity: int = 0) -> bool:
    """WC_Product::is_on_backorder for an ordered quantity."""
    if product["stock_status"] == "onbackorder":
        return True
    return (
        bool(product["manage_stock"])
        and backorders_allowed(product)
        and int(product["stock_quantity"] or 0) - quantity < 0
    )


def backordered_quantity(product: dict[str, Any], quantity: int) -> int | None:
    """The ``Backordered`` line meta a checkout writes, or None when none is written."""
    if backorders_require_notification(product) and is_on_backorder(product, quantity):
        return quantity - max(0, int(product["stock_quantity"] or 0))
    return None


def parent_stock_status(children: list[dict[str, Any]], fallback: str) -> str:
    """A variable product's stock status from its variations (WC_Product_Variable sync)."""
    statuses = {child["stock_status"] for child in children}
    for status in ("instock", "onbackorder"):
        if status in statuses:
            return status
    return "outofstock" if statuses else fallback
