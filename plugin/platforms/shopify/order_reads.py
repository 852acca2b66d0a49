"""Orders read at the cost their size needs, and many in few requests.

Allocation reads every part waiting for a product; at one read per part, each requesting 644
cost points (`ORDER_FIELDS`: 30 lines, 5 fulfillment orders of 30 lines, 20 transactions), the
2,000-point bucket ran dry and one fault among dozens of reads failed the whole job.

The small fields are `ORDER_FIELDS` with smaller connections, sized for the orders Backorders
usually holds (a few lines, a fulfillment order per split part, an authorisation and a capture or
two): 5 lines, 5 fulfillment orders of 5 lines each, 5 transactions. An order they leave
something out of (`mapping.truncated`) is read again whole. Requested cost by Shopify's rules
(shopify.dev "Cost calculation": a connection 2 plus `first` times a node, an object 1):

- `read_order`: one order, 149 points (the whole read after it only for a larger order);
- `read_orders`: `nodes(ids:)`, an `Order` by its id or a held part (`fo-<n>`) through its
  `FulfillmentOrder`'s `order`, 150 points per id (`BULK_COST_PER_ID`), at most
  `MAX_QUERY_COST // BULK_COST_PER_ID` (6) ids per request: a single query may request at most
  1,000 points (shopify.dev "Rate limits"), and the bound holds even if Shopify priced `nodes`
  per id given (the sandbox, like the published rules, prices the list as one node).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import gid
from plugin.platforms.shopify.mapping import (
    ORDER_FIELDS,
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


SMALL_ORDER_QUERY = f"query order($id: ID!) {{ order(id: $id) {{ {_FIELDS} }} }}"
WHOLE_ORDER_QUERY = f"query order($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"


def read_order(client: ShopifyClient, order_gid: str, *, whole: bool = False) -> Any:
    """An order's data (None when there is no such order): the small read, and the whole one
    when it left something out (or `whole` says it would)."""
    if not whole:
        data = client.execute(SMALL_ORDER_QUERY, {"id": order_gid})["order"]
        if data is None or not truncated(data, BULK_TRANSACTIONS):
            return data
    return client.execute(WHOLE_ORDER_QUERY, {"id": order_gid})["order"]


def global_id(order_id: str) -> str:
    """The node an order id names: the order, or a held part's fulfillment order."""
    if is_backorder_id(order_id):
        return gid("FulfillmentOrder", fulfillment_order_number(order_id))
    return gid("Order", order_id)


def read_orders(
    client: ShopifyClient,
    order_ids: Sequence[str],
    read_whole: Callable[[str], Mapping[str, Any] | None],
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
            if data:
                yield order_id, data
