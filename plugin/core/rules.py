"""The merchant's backorder rules as pure decisions, each explained by a `Reason`.

Quantities only: `split.py` turns these decisions into money and a `Plan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from plugin.core.model import (
    BackorderMode,
    DeliveryCondition,
    Line,
    Order,
    Policies,
    ProductPolicy,
    ProductRef,
    Reason,
    Status,
    Stock,
    StoreSettings,
    free_units,
)
from plugin.core.wording import agree, all_units, units

_STATUS_NAMES = {
    Status.QUOTE: "Quote",
    Status.NEW: "New",
    Status.ON_HOLD: "On Hold",
    Status.NEW_BACKORDER: "New Backorder",
    Status.BACKORDER_APPROVED: "Backorder Approved",
    Status.PICK: "Pick",
    Status.PACK: "Pack",
    Status.PENDING_DISPATCH: "Pending Dispatch",
    Status.DISPATCHED: "Dispatched",
    Status.CANCELLED: "Cancelled",
    Status.UNCOMMITTED: "Uncommitted",
}

_DELIVERY_NAMES = {
    DeliveryCondition.SHIP_AVAILABLE: "ship what is available, backorder the rest",
    DeliveryCondition.LINES_COMPLETE: "ship only complete lines",
    DeliveryCondition.WHOLE_ORDER: "ship the whole order together",
}


class LineDecision(NamedTuple):
    """Quantities decided for one line, before any money is split.

    `backorder` is what the line would put on backorder; when the whole order waits instead
    (see `split.plan_split`) those units stay on the original as `waiting`. A named tuple,
    not a dataclass: the planner makes one per line and stays within its time budget.
    """

    line: Line
    ref: ProductRef
    keep: int
    backorder: int
    oversold: int
    reason: Reason
    alert: Reason | None = None


def status_name(status: Status) -> str:
    """The merchant-facing name of a canonical status."""
    return _STATUS_NAMES.get(status, str(status))


def delivery_name(condition: DeliveryCondition) -> str:
    """A merchant-facing description of a delivery condition."""
    return _DELIVERY_NAMES[condition]


def eligibility(order: Order, settings: StoreSettings) -> tuple[bool, Reason]:
    """Whether Backorders may put lines of `order` on backorder, and why (not)."""
    if not settings.enabled:
        return False, Reason(
            "store_disabled",
            "Backorders is switched off for this store, so the order is left as it is.",
        )
    links = order.links
    if links.is_backorder_order:
        return False, Reason(
            "is_backorder_order",
            f"Order {order.number} is itself a backorder order, so it is not split again.",
        )
    if links.split_count > 0:
        return False, Reason(
            "already_split",
            f"Order {order.number} was already split into a backorder order, "
            "so it is not split again.",
        )
    if order.status not in settings.eligible_statuses:
        allowed = ", ".join(sorted(status_name(s) for s in settings.eligible_statuses)) or "none"
        return False, Reason(
            "status_not_eligible",
            f"Order {order.number} is {status_name(order.status)}; only orders in these "
            f"statuses may have lines put on backorder: {allowed}.",
        )
    return True, Reason(
        "eligible",
        f"Order {order.number} is {status_name(order.status)}, so its lines may be put on "
        "backorder.",
    )


def delivery_condition(order: Order, policies: Policies) -> tuple[DeliveryCondition, Reason]:
    """The delivery condition that applies: order override, then customer, then store."""
    if order.delivery_override is not None:
        condition, source = order.delivery_override, "set on this order"
    elif policies.customer is not None and policies.customer.delivery_condition is not None:
        condition, source = policies.customer.delivery_condition, "the customer's preference"
    else:
        condition, source = policies.settings.default_delivery, "the store default"
    return condition, Reason(
        f"delivery_{condition.value}", f"Delivery: {delivery_name(condition)} ({source})."
    )


def allows_backorder(stock: Stock, policy: ProductPolicy | None) -> bool:
    """A merchant's product policy wins; otherwise the platform's own backorder setting."""
    if policy is not None and policy.allow_backorder is not None:
        return policy.allow_backorder
    # The store's own setting: "notify" and "yes" both take backorders (WooCommerce's
    # `backorders`, reference/woocommerce/products.md, maps onto BackorderMode as it is).
    return stock.backorders in _BACKORDERS_ALLOWED


_BACKORDERS_ALLOWED = (BackorderMode.NOTIFY, BackorderMode.YES)
_NO_PRODUCT = ("", "0")


def product_label(name: str, sku: str, ref: ProductRef) -> str:
    """How a product is named in messages: its name, and its SKU when it has one; its id
    (and variant's) only when no name is known."""
    if not name:
        return f"product {ref.product_id}" + (f" / {ref.variant_id}" if ref.variant_id else "")
    return f"'{name}' (SKU {sku})" if sku else f"'{name}'"


def line_label(line: Line) -> str:
    """How a line is named in messages: its name, and its SKU when it has one."""
    return product_label(line.name, line.sku, line.ref)


# `_new(NamedTupleClass, (every field, in order))` makes a named tuple without running its
# Python-level __new__, for less than half the cost; decide_lines makes two per line.
# Unlike the class call it checks neither the count nor the types of the fields.
_new = tuple.__new__


def _kept(line: Line, ref: ProductRef, code: str, message: str) -> LineDecision:
    return LineDecision(
        line,
        ref,
        line.quantity,
        0,
        0,
        Reason(code, f"{line_label(line)}: {message}", line.line_id),
    )


class _Pool:
    """One stock figure while `decide_lines` hands it out: shared by every product drawing on
    it (a variation whose parent keeps the stock shares the parent's)."""

    __slots__ = ("backordered", "free", "held")

    def __init__(self, item: Stock | None, held: int) -> None:
        self.held = held
        # Platforms may let stock go below zero (WooCommerce does when it accepts a
        # backorder, reference/woocommerce/README.md); that is simply nothing available.
        # Units released to unpaid orders are in the figure but promised: not free here,
        # exactly as allocation counts them (free_units).
        self.free = free_units(item.available, 0, held) if item is not None else 0
        self.backordered = 0  # what earlier lines of this order put on backorder


class _Product:
    """What `decide_lines` tracks of one product: its stock, policy and figure (`pool`)."""

    __slots__ = ("item", "policy", "pool", "ref")

    def __init__(
        self, ref: ProductRef, item: Stock | None, policy: ProductPolicy | None, pool: _Pool
    ) -> None:
        self.ref = ref
        self.item = item
        self.policy = policy
        self.pool = pool


def decide_lines(
    order: Order,
    stock: Mapping[ProductRef, Stock],
    policies: Policies,
    condition: DeliveryCondition,
    held: Mapping[ProductRef, int] | None = None,
) -> tuple[LineDecision, ...]:
    """Decide keep / backorder / oversold for every line, in line order.

    Stock of one product shared by several lines is handed out in line order and never
    twice. A line put on backorder whole (complete-lines delivery) takes no stock, so a
    later line of the same product may still ship from it. Whole-order delivery is decided
    like ship-available here; the caller turns it into a wait. `held` gives, per stock figure
    (`Stock.pool_ref`), the units released to unpaid orders that the figure counts but that
    are promised: they are never handed out here. Products drawing on one figure (variations
    whose parent keeps the stock) share its free units, its held units and the count of units
    this order puts on backorder, in line order, like lines of one product.
    """
    held_units = held or {}
    # Products are keyed by (product_id, variant_id) tuples, which hash in C; each product
    # gets one ProductRef, one stock lookup and one policy lookup per order, not one a line.
    product_policies: dict[tuple[str, str | None], ProductPolicy] = {}
    for product_policy in policies.products:
        policy_ref = product_policy.ref
        product_policies.setdefault((policy_ref.product_id, policy_ref.variant_id), product_policy)
    products: dict[tuple[str, str | None], _Product] = {}
    pools: dict[ProductRef, _Pool] = {}
    lines_complete = condition is DeliveryCondition.LINES_COMPLETE
    decisions: list[LineDecision] = []
    append = decisions.append
    for line in order.lines:
        qty = line.quantity
        key = (line.product_id, line.variant_id)
        product = products.get(key)
        if product is None:
            ref = _new(ProductRef, key)
            item = stock.get(ref)
            pool_ref = item.pool_ref if item is not None else ref
            pool = pools.get(pool_ref)
            if pool is None:
                pool = pools[pool_ref] = _Pool(item, held_units.get(pool_ref, 0))
            product = products[key] = _Product(ref, item, product_policies.get(key), pool)
        ref = product.ref
        pool = product.pool
        if qty <= 0:
            append(_kept(line, ref, "no_quantity", "no quantity to ship; left as it is."))
            continue
        if not line.variant_id and line.product_id in _NO_PRODUCT:
            # A platform line that names no product (WooCommerce keeps a line whose product
            # id named nothing as product 0): no stock to count, no product to order again.
            append(
                _kept(
                    line,
                    ref,
                    "no_product",
                    "names no product in the store, so it cannot be backordered; "
                    "it stays on the order.",
                )
            )
            continue
        item = product.item
        if item is None:
            # The connector reports stock for every product of the order; a gap is a fault
            # the merchant should see, and the safe answer is to move nothing.
            unknown = _kept(
                line, ref, "stock_unknown", "stock is unknown, so the line stays on the order."
            )
            append(unknown._replace(alert=unknown.reason))
            continue
        if not item.managed:
            append(
                _kept(line, ref, "stock_not_managed", "stock is not tracked, so it is never short.")
            )
            continue
        free = pool.free
        label = f"'{line.name}' (SKU {line.sku})" if line.sku else f"'{line.name}'"  # line_label
        if qty <= free:
            pool.free = free - qty
            text = f"{label}: {all_units(qty, ('is', 'are'))} in stock."
            reason = _new(Reason, ("in_stock", text, line.line_id))
            append(_new(LineDecision, (line, ref, qty, 0, 0, reason, None)))
            continue
        shortfall = qty - free

        wanted = qty if lines_complete else shortfall
        policy = product.policy
        alert: Reason | None = None
        allowed = allows_backorder(item, policy)
        # Open backorders elsewhere, plus what earlier lines of this order put on backorder.
        already = item.open_backorder_qty + pool.backordered
        if not allowed:
            backorder = 0
        elif policy is not None and policy.cap is not None:
            room = policy.cap - already
            room = room if room > 0 else 0
            backorder = wanted if wanted <= room else room
        else:
            backorder = wanted
        pool.backordered += backorder
        keep = qty - backorder
        from_stock = keep if keep <= free else free
        pool.free = free - from_stock
        oversold = keep - from_stock
        short_text = f"{shortfall} of {units(qty)} {agree(shortfall, 'is', 'are')} out of stock"
        if pool.held:
            short_text += (
                f" ({units(pool.held)} in stock "
                f"{'is' if pool.held == 1 else 'are'} promised to released backorder "
                "orders awaiting payment)"
            )

        if not allowed:
            message = (
                f"{label}: {short_text} and the product may not be backordered; "
                f"they stay on the order without stock (oversold)."
            )
            reason = _new(Reason, ("oversold_not_backorderable", message, line.line_id))
            alert = reason
        elif backorder < wanted:
            assert policy is not None and policy.cap is not None  # only a cap limits `backorder`
            message = (
                f"{label}: {short_text}; the backorder cap of {units(policy.cap)} "
                f"({already} already on backorder) leaves room for "
                f"{backorder}, so {backorder} go on backorder and {oversold} stay on the "
                f"order without stock (oversold)."
            )
            reason = _new(Reason, ("backorder_cap_reached", message, line.line_id))
            alert = reason
        elif lines_complete:
            message = (
                f"{label}: {short_text} and only complete lines ship, so "
                f"{all_units(qty, ('goes', 'go'))} on backorder."
            )
            reason = _new(Reason, ("line_backordered", message, line.line_id))
        else:
            message = (
                f"{label}: {short_text}; {keep} {agree(keep, 'ships', 'ship')} now and "
                f"{backorder} {agree(backorder, 'goes', 'go')} on backorder."
            )
            code = "partly_backordered" if keep else "line_backordered"
            reason = _new(Reason, (code, message, line.line_id))
        append(_new(LineDecision, (line, ref, keep, backorder, oversold, reason, alert)))
    return tuple(decisions)
