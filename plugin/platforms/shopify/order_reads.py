"""Many orders (and held parts) read in few requests: allocation reads every part waiting for a
product, and a read per part (644 requested cost points each, `ORDER_FIELDS`) does not scale.

One `nodes(ids:)` query reads a batch: an `Order` by its id, a held part (`fo-<n>`) through its
`FulfillmentOrder`'s `order`. The fields are `ORDER_FIELDS` with smaller connections, the sizes
the orders Backorders holds have (measured in the chaos run: 1-3 lines, 1-3 fulfillment orders,
at most 3 transactions): 5 lines, 5 fulfillment orders of 5 lines each, 5 transactions; 150
requested cost points per id (`BULK_COST_PER_ID`, computed by Shopify's rules: shopify.dev
"Cost calculation"; a connection costs 2 plus `first` times a node, an object 1). An order with
more than that (`mapping.truncated`) is read again whole, one query of its own.

A batch holds at most `MAX_QUERY_COST // BULK_COST_PER_ID` ids (6): a single query may request
at most 1,000 points (shopify.dev "Rate limits", "Maximum single query cost"), and the bound
holds even if Shopify priced `nodes` per id given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import gid
from plugin.platforms.shopify.mapping import (
    fulfillment_order_number,
    is_backorder_id,
    order_fields,
    truncated,
)

BULK_LINES = 5
BULK_FULFILLMENT_ORDERS = 5
BULK_FULFILLMENT_LINES = 5
BULK_TRANSACTIONS = 5
BULK_COST_PER_ID = 150  # requested cost of ORDERS_QUERY for one id (test_order_reads.py)
MAX_QUERY_COST = 1000
BATCH = MAX_QUERY_COST // BULK_COST_PER_ID

_FIELDS = order_fields(
    BULK_LINES, BULK_FULFILLMENT_ORDERS, BULK_FULFILLMENT_LINES, BULK_TRANSACTIONS
)
ORDERS_QUERY = f"""query orders($ids: [ID!]!) {{ nodes(ids: $ids) {{
  ... on Order {{ {_FIELDS} }}
  ... on FulfillmentOrder {{ id order {{ {_FIELDS} }} }} }} }}"""


def global_id(order_id: str) -> str:
    """The node an order id names: the order, or a held part's fulfillment order."""
    if is_backorder_id(order_id):
        return gid("FulfillmentOrder", fulfillment_order_number(order_id))
    return gid("Order", order_id)


def read_orders(
    client: ShopifyClient,
    order_ids: Sequence[str],
    read_whole: Callable[[str], Mapping[str, Any]],
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(order id, its order's data read with `ORDER_FIELDS`' shape) for each of `order_ids`
    that exists, `BATCH` per request; an order the small read left something out of is read
    again with `read_whole` (its order's global id)."""
    ids = list(dict.fromkeys(str(i) for i in order_ids))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        nodes = client.execute(ORDERS_QUERY, {"ids": [global_id(i) for i in batch]})["nodes"]
        for order_id, node in zip(batch, nodes, strict=True):
            if not node:
                continue  # deleted, or not an order
            data = node.get("order") if is_backorder_id(order_id) else node
            if not data:
                continue
            if truncated(data, BULK_TRANSACTIONS):
                data = read_whole(str(data["id"]))
            yield order_id, data
