"""WooCommerce's stock accounting: stock seen from an order, stock figures and free units.

Stock seen from the order (`Stock.available`): WooCommerce reduces stock when an order reaches
processing, completed or on-hold, or on payment complete (`wc_maybe_reduce_stock_levels`,
wc-stock-functions.php), and records per line how much it took in the line meta `_reduced_stock`
(`wc_reduce_stock_levels`; the order-level `_order_stock_reduced` flag is internal meta the REST
API does not return, but the line meta is returned in `line_items[].meta_data`). So for the
product (or variation) that keeps the stock:

    raw = stock_quantity + Σ _reduced_stock of this order's lines using that stock
    available = max(0, raw)            # what this order may take now
    open_backorder_qty = max(0, -raw)  # stock below zero = units other orders hold on backorder

A variation whose `manage_stock` is "parent" uses its parent product's stock: the REST answer shows
the parent's `stock_quantity` and `backorders` (WC_Product_Variation `get_manage_stock`,
`get_stock_quantity`, `get_backorders` in view context), and every order line of any such
variation reduces the parent's figure (`wc_update_product_stock` changes the product named by
`get_stock_managed_by_id`, the parent). So the stock is keyed by the figure it draws on
(`Stock.pool`, `stock_figure`): variations of one parent share one count. Products that do not
manage stock: `instock` → unmanaged; `outofstock` → managed with 0 available and backorders "no";
`onbackorder` → managed with 0 available and backorders allowed.

Free units (README "Stock accounting"). A backorder order is created `on-hold`, so WooCommerce
already took its units from the figure (`_reduced_stock` on each line) and the figure went below
zero by what open backorders wait for. Releasing a paid backorder order (on-hold → processing)
changes no stock: the order's stock-reduced flag is set (`wc_maybe_reduce_stock_levels`).
Releasing an unpaid one (on-hold → pending) makes WooCommerce give its units back to the figure
(`wc_maybe_increase_stock_levels` runs on the transition to pending); those units stay promised
until the customer pays (stock reduced again) or the order is cancelled. So, per stock figure,
the units free for a set of waiting orders are

    free = stock_quantity + units those orders reduced
           - units released to unpaid orders still pending and unreduced (`held_units`)

(`core.model.free_units`), and a split of a new order counts the held units out the same way.
The use cases ask the platform for these answers (`plugin.ports.StockReads`); only this module
knows why they are what they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from plugin.core.model import (
    BackorderMode,
    Order,
    ProductRef,
    Status,
    Stock,
    StockFigure,
    free_units,
)
from plugin.platforms.woocommerce.mapping import int_value, meta_value
from plugin.platforms.woocommerce.schemas import load_product
from plugin.ports import HeldUnits, Promise, PromiseState, release_pool

LINE_REDUCED_STOCK = "_reduced_stock"  # WooCommerce's own line meta (wc-stock-functions.php)

ReducedOf = Callable[[str], Mapping[str, int]]  # order id -> units reduced per line id


def line_reduced_stock(line: Mapping[str, Any]) -> int:
    """How many units WooCommerce took from stock for this line (`_reduced_stock`, else 0)."""
    return max(0, int_value(meta_value(line.get("meta_data", []), LINE_REDUCED_STOCK)))


def seen_from_order(figure: int, taken_by_order: int) -> tuple[int, int]:
    """(what the order may take now, units other orders hold on backorder) of a figure, seen
    from an order that took `taken_by_order` of it already (module docstring)."""
    seen = figure + taken_by_order
    return max(0, seen), max(0, -seen)


def _backorder_mode(value: Any) -> BackorderMode:
    try:
        return BackorderMode(str(value))
    except ValueError:
        return BackorderMode.NO


def stock_figure(ref: ProductRef, record: Mapping[str, Any]) -> StockFigure:
    """The stock figure that product or variation `ref` (its REST JSON `record`) draws on: the
    parent product's when the variation's `manage_stock` is "parent" (module docstring), else
    its own; the quantity is None when the figure is not counted (`manage_stock` false)."""
    manage = record.get("manage_stock")
    pool = ProductRef(ref.product_id) if manage == "parent" and ref.variant_id else ref
    if manage not in (True, "parent"):
        return StockFigure(pool, None)
    quantity = record.get("stock_quantity")
    return StockFigure(pool, int_value(quantity) if quantity is not None else 0)


def stock_for_order(
    order: Mapping[str, Any], products: Iterable[Mapping[str, Any]]
) -> dict[ProductRef, Stock]:
    """Stock of every product/variation of a loaded order, seen from that order.

    `products` holds the product and variation JSON objects (raw or loaded) for the order's
    lines, plus the parents of variations whose stock is kept on the parent.
    """
    by_id: dict[int, dict[str, Any]] = {}
    for payload in products:
        loaded = load_product(payload)
        by_id[loaded["id"]] = loaded

    # Which record keeps the stock of each line, and how much this order already took from it.
    owners: dict[ProductRef, tuple[int, dict[str, Any]] | None] = {}
    line_items: dict[ProductRef, dict[str, Any]] = {}
    reduced: dict[int, int] = {}
    for line in order.get("line_items", []):
        product_id = int(line["product_id"])
        variation_id = int(line.get("variation_id") or 0)
        ref = ProductRef(str(product_id), str(variation_id) if variation_id else None)
        item = by_id.get(variation_id or product_id)
        owner: tuple[int, dict[str, Any]] | None = None
        if item is not None:
            line_items[ref] = item
            if item["manage_stock"] == "parent":
                # Stock kept on the parent: all variations of it share one count. The variation
                # JSON already shows the parent's quantity and backorder setting; a parent record,
                # when given, is preferred.
                parent = by_id.get(product_id)
                if parent is not None and parent["manage_stock"] is True:
                    owner = (product_id, parent)
                else:
                    owner = (product_id, item)
            elif item["manage_stock"] is True:
                owner = (item["id"], item)
        owners[ref] = owner
        if owner is not None:
            reduced[owner[0]] = reduced.get(owner[0], 0) + line_reduced_stock(line)

    stocks: dict[ProductRef, Stock] = {}
    for ref, owner in owners.items():
        record_for_line = line_items.get(ref)
        if record_for_line is None:
            # The product no longer exists (deleted): nothing to count, do not block the order.
            stocks[ref] = Stock(ref=ref, available=0, managed=False)
        elif owner is not None:
            owner_id, record = owner
            available, elsewhere = seen_from_order(
                int(record["stock_quantity"] or 0), reduced.get(owner_id, 0)
            )
            own_id = int(ref.variant_id or ref.product_id)
            stocks[ref] = Stock(
                ref=ref,
                available=available,
                managed=True,
                backorders=_backorder_mode(record["backorders"]),
                open_backorder_qty=elsewhere,
                # Variations drawing on their parent's figure share it (module docstring).
                pool=ProductRef(str(owner_id)) if owner_id != own_id else None,
            )
        else:
            mode = _backorder_mode(record_for_line["backorders"])
            status = record_for_line.get("stock_status", "instock")
            if status == "outofstock":
                stocks[ref] = Stock(ref=ref, available=0, managed=True, backorders=BackorderMode.NO)
            elif status == "onbackorder":
                allowed = mode if mode is not BackorderMode.NO else BackorderMode.NOTIFY
                stocks[ref] = Stock(ref=ref, available=0, managed=True, backorders=allowed)
            else:
                stocks[ref] = Stock(ref=ref, available=0, managed=False, backorders=mode)
    return stocks


def held_units(
    promises: Sequence[Promise], orders: Mapping[str, Order], reduced_of: ReducedOf
) -> HeldUnits:
    """The units of `promises` WooCommerce gave back to its figures while the orders await
    payment (module docstring), per figure, and what became of each promise: gone when the
    store no longer has the order (`orders` holds those it has), settled when it was paid
    (its lines reduced again) or cancelled."""
    held: dict[ProductRef, int] = {}
    states: dict[str, PromiseState] = {}
    for promise in promises:
        order = orders.get(promise.order_id)
        if order is None:
            # Deleted in the store: no customer will pay for its units; they are free.
            states[promise.order_id] = PromiseState.GONE
            continue
        holding = 0
        if order.status is not Status.CANCELLED:
            reduced = reduced_of(promise.order_id)
            for line in promise.lines:
                units = int(line["units"])
                if reduced.get(str(line["line_id"]), 0) < units:
                    pool = release_pool(line)
                    held[pool] = held.get(pool, 0) + units
                    holding += units
        states[promise.order_id] = PromiseState.HOLDING if holding else PromiseState.SETTLED
    return HeldUnits(held, states)


def free_for_waiting(
    figures: Iterable[tuple[ProductRef, StockFigure]],
    waiting: Sequence[Order],
    reduced_of: ReducedOf,
    held: Mapping[ProductRef, int],
) -> tuple[dict[ProductRef, int], dict[ProductRef, ProductRef]]:
    """Units free for the `waiting` orders per stock figure, and the figure each of their
    products draws on, from one reading of each product's figure (`figures`; a figure shared
    by several products counts its lowest reading: a shopper may buy between the reads)."""
    quantities: dict[ProductRef, int | None] = {}
    pools: dict[ProductRef, ProductRef] = {}
    for ref, figure in figures:
        pools[ref] = figure.pool
        if figure.pool in quantities:
            known = quantities[figure.pool]
            if known is not None and figure.quantity is not None:
                quantities[figure.pool] = min(known, figure.quantity)
        else:
            quantities[figure.pool] = figure.quantity
    claimed: dict[ProductRef, int] = {}
    for order in waiting:
        reduced = reduced_of(order.id)
        for line in order.lines:
            pool = pools[line.ref]
            claimed[pool] = claimed.get(pool, 0) + reduced.get(line.line_id, 0)
    free: dict[ProductRef, int] = {}
    for pool, units in claimed.items():
        stock = quantities[pool]
        if stock is None:
            free[pool] = 0  # the store does not count it: nothing we can say arrived
            continue
        free[pool] = free_units(stock, units, held.get(pool, 0))
    return free, pools
