"""One Shopify order edit (Admin GraphQL 2025-01): `orderEditBegin`, an `orderEditSetQuantity`
per line, `orderEditCommit`. The linked split (linked.py: the original keeps what ships, not
restocked) and a cancellation (cancelling.py: held units taken off, restocked) both write it."""

from __future__ import annotations

from collections.abc import Mapping

from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import gid

EDIT_BEGIN = """mutation begin($id: ID!) { orderEditBegin(id: $id) { calculatedOrder { id }
  userErrors { field message } } }"""
EDIT_QUANTITY = """mutation quantity($id: ID!, $line: ID!, $quantity: Int!, $restock: Boolean) {
  orderEditSetQuantity(id: $id, lineItemId: $line, quantity: $quantity, restock: $restock) {
    calculatedLineItem { id quantity } userErrors { field message } } }"""
EDIT_COMMIT = """mutation commit($id: ID!, $note: String) {
  orderEditCommit(id: $id, notifyCustomer: false, staffNote: $note) { order { id }
    userErrors { field message } } }"""


def edit_quantities(
    client: ShopifyClient,
    order_gid: str,
    quantities: Mapping[str, int],
    *,
    restock: bool,
    note: str,
) -> None:
    """Set each line (line number -> its new `currentQuantity`) in one edit; `restock` gives
    the units taken off back to `available`. No request when there is nothing to set."""
    if not quantities:
        return
    edit_id = client.mutate(EDIT_BEGIN, {"id": order_gid}, "orderEditBegin")["calculatedOrder"][
        "id"
    ]
    for line, quantity in sorted(quantities.items()):
        # An existing line's CalculatedLineItem has the line's own number.
        client.mutate(
            EDIT_QUANTITY,
            {
                "id": edit_id,
                "line": gid("CalculatedLineItem", line),
                "quantity": quantity,
                "restock": restock,
            },
            "orderEditSetQuantity",
        )
    client.mutate(EDIT_COMMIT, {"id": edit_id, "note": note}, "orderEditCommit")
