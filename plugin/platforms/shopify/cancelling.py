"""Cancelling held units on Shopify (`plugin.usecases.cancelling`, issue 16): what
`ShopifyPlatform.remove_line`, `reduce_line` and `cancel_order` do.

On Shopify a backorder is the held fulfillment order `fo-<n>` of the original order (an order
held whole is its own number, every open fulfillment order on hold). Cancelling units of it is
an order edit (Admin GraphQL 2025-01: `orderEditBegin`, `orderEditSetQuantity` with
`restock: true`, `orderEditCommit`) lowering the line's `currentQuantity` by the held units
taken off: Shopify takes them off the unfulfilled units and gives their committed stock back
to `available`, once. A fulfillment order left with nothing closes. The customer is not
charged for them: the order's total drops, so with an authorised payment the later capture is
limited to what the order still owes (`totalOutstandingSet`; `totalCapturableSet` is the
authorisation and is not lowered by an edit); a paid order is refunded by the merchant, as the
use case's note says (Backorders moves no money, as on WooCommerce).

An order whose every remaining unit is being cancelled (held whole, nothing shipped) is
cancelled instead (`orderCancel`, `restock: true`; `refund: true` only while nothing was
captured, which voids the authorisation and moves no money).

Exactly once: every write starts from the units the order holds now, so a retry after a crash
finds the edit made (the held quantity is already the one asked for, the order already
cancelled) and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from plugin.core.model import ZERO
from plugin.errors import PermanentError
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.edits import edit_quantities
from plugin.platforms.shopify.ids import number
from plugin.platforms.shopify.mapping import (
    captured,
    fulfillment_order_number,
    held_part,
    is_backorder_id,
    order_from_data,
)

CANCEL = """mutation cancel($id: ID!, $refund: Boolean!, $note: String) {
  orderCancel(orderId: $id, refund: $refund, restock: true, reason: OTHER,
    notifyCustomer: false, staffNote: $note) {
    job { id } orderCancelUserErrors { field message code } } }"""
EDIT_NOTE = "Backorders: held units cancelled"
CANCEL_NOTE = "Backorders: every held unit of this order was cancelled"


def held_fulfillment_orders(data: Mapping[str, Any], order_id: str) -> list[Mapping[str, Any]]:
    """The fulfillment orders `order_id` stands for: `fo-<n>` itself while it is on hold, or
    (an order held whole) each of the order's fulfillment orders on hold."""
    wanted = fulfillment_order_number(order_id) if is_backorder_id(order_id) else None
    return [
        fo
        for fo in data["fulfillmentOrders"]["nodes"]
        if fo["status"] == "ON_HOLD" and (wanted is None or number(fo["id"]) == wanted)
    ]


def held_units(data: Mapping[str, Any], order_id: str) -> dict[str, int]:
    """Units still held per line (line number) in what `order_id` stands for."""
    units: dict[str, int] = {}
    for fo in held_fulfillment_orders(data, order_id):
        for node in fo["lineItems"]["nodes"]:
            line = number(node["lineItem"]["id"])
            units[line] = units.get(line, 0) + int(node["remainingQuantity"])
    return units


def ordered_units(data: Mapping[str, Any]) -> dict[str, int]:
    """Each line's `currentQuantity`: ordered, less what was removed or refunded."""
    return {
        number(node["id"]): int(node.get("currentQuantity", node["quantity"]))
        for node in data["lineItems"]["nodes"]
    }


def held_total(data: Mapping[str, Any], order_id: str) -> Decimal:
    """The total of what `order_id` stands for now: the held part `fo-<n>`, or the order's
    lines as they stand after edits."""
    if is_backorder_id(order_id):
        wanted = fulfillment_order_number(order_id)
        for fo in data["fulfillmentOrders"]["nodes"]:
            if number(fo["id"]) == wanted:
                return held_part(data, fo).total
        return ZERO
    return sum((line.total for line in order_from_data(data).lines), ZERO)


def take_off(client: ShopifyClient, data: Mapping[str, Any], taken: Mapping[str, int]) -> None:
    """One order edit taking `taken` units (line number -> units) off the lines, restocked."""
    current = ordered_units(data)
    quantities = {line: current[line] - units for line, units in taken.items() if units > 0}
    edit_quantities(client, str(data["id"]), quantities, restock=True, note=EDIT_NOTE)


def set_held_quantity(
    client: ShopifyClient, data: Mapping[str, Any], order_id: str, line_id: str, quantity: int
) -> bool:
    """Leave `quantity` units of line `line_id` held in `order_id`; False when it holds that
    many (or fewer) already: nothing written."""
    held = held_units(data, order_id).get(str(line_id), 0)
    if held <= quantity:
        return False
    take_off(client, data, {str(line_id): held - quantity})
    return True


def cancel_held(client: ShopifyClient, data: Mapping[str, Any], order_id: str) -> bool:
    """Cancel every unit `order_id` still holds: the whole order when they are all it has left
    (`orderCancel`), else an edit taking them off (the order keeps its other part). No write
    when nothing is held any more or the order is cancelled already. True when the order
    itself is cancelled, False when it goes on without the held units."""
    if data.get("cancelledAt"):
        return True
    held = held_units(data, order_id)
    if not any(held.values()):
        return False
    ordered = ordered_units(data)
    if sum(held.values()) < sum(ordered.values()):
        take_off(client, data, held)
        return False
    answer = client.execute(
        CANCEL,
        {"id": data["id"], "refund": captured(data) <= ZERO, "note": CANCEL_NOTE},
    )["orderCancel"]
    errors = (answer or {}).get("orderCancelUserErrors") or ()
    if errors:
        raise PermanentError(
            f"orderCancel: {'; '.join(str(e.get('message')) for e in errors)}",
            reason="cancel_refused",
        )
    return True
