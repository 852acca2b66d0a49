"""Setting a stock figure on Shopify (`plugin.ports.StockSetAside.set_stock`): the `available`
quantity of an inventory item at the location whose figure Backorders reads (the primary one,
`ShopifyPlatform.stock_figure`), as a merchant's manual backorder sets units aside.

`inventorySetQuantities` sets an absolute value with compare-and-set (schema 2025-01: "the
mutation will only update the quantity if the persisted quantity matches the `compareQuantity`
value"): the figure is read just before and compared, so a sale Shopify counts in between is
not overwritten; it is refused instead (`stock_moved`), and the caller reads the figure again.
"""

from __future__ import annotations

from typing import Any, Protocol

from plugin.core.model import ProductRef
from plugin.errors import PermanentError, TransientError
from plugin.platforms.shopify.client import ShopifyUserErrors
from plugin.platforms.shopify.ids import gid, number

LEVEL = """query level($item: ID!, $location: ID!) { inventoryItem(id: $item) {
  inventoryLevel(locationId: $location) { quantities(names: ["available"]) {
    name quantity } } } }"""
SET = """mutation setAvailable($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { inventoryAdjustmentGroup { id }
    userErrors { field message code } } }"""


class Client(Protocol):
    def execute(self, query: str, variables: Any = None) -> Any: ...

    def mutate(self, query: str, variables: Any, payload: str) -> Any: ...


def set_available(client: Client, pool: ProductRef, location: str, quantity: int) -> None:
    """Set `available` of the inventory item `pool.variant_id` at `location` (numbers) to
    `quantity`, compared with the figure read now; no write when it is that already."""
    if not pool.variant_id:
        raise PermanentError(f"product {pool.product_id} has no inventory item", reason="no_item")
    item, place = gid("InventoryItem", pool.variant_id), gid("Location", location)
    found = client.execute(LEVEL, {"item": item, "location": place})["inventoryItem"]
    level = (found or {}).get("inventoryLevel")
    if level is None:
        raise PermanentError(
            f"inventory item {pool.variant_id} is not stocked at location {number(place)}",
            reason="not_stocked",
        )
    now = sum(int(q["quantity"]) for q in level["quantities"] if q["name"] == "available")
    if now == quantity:
        return
    try:
        client.mutate(
            SET,
            {
                "input": {
                    "name": "available",
                    "reason": "correction",
                    "quantities": [
                        {
                            "inventoryItemId": item,
                            "locationId": place,
                            "quantity": int(quantity),
                            "compareQuantity": now,
                        }
                    ],
                }
            },
            "inventorySetQuantities",
        )
    except ShopifyUserErrors as exc:
        if exc.reason == "compare_quantity_stale":
            raise TransientError(
                f"the stock of inventory item {pool.variant_id} changed while it was set",
                reason="stock_moved",
            ) from exc
        raise
