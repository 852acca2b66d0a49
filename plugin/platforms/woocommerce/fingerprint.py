"""The content fingerprint of an order or product state: what tells two deliveries apart.

The inbox names a resource's state by `date_modified_gmt`, which has one-second resolution, and
a store can save an order twice within a second (pending, then processing): two deliveries with
the same moment and different content. The delivery id does not tell them apart either: it is
`wp_hash( $this->get_id() . strtotime( 'now' ) )` (class-wc-webhook.php,
`WC_Webhook::get_new_delivery_id`), the same for every delivery of one webhook within a second.
So the inbox key adds a hash of the content a job decides on (`plugin/adapters/sql/inbox.py`
`dedupe_key`): an exact re-delivery stays a duplicate, a same-second change is a new event.

Both paths into the inbox hash the same JSON. A webhook body is the resource as
`GET /wc/v3/<resource>s/<id>` returns it (reference woocommerce/README.md, "Payload"), and
reconciliation lists orders through the same REST representation, asking only for
`ORDER_FIELDS` (`_fields`, introduction.md); only those fields are read here, so the extra fields
of a webhook body change nothing. The same state therefore gives the same fingerprint from a
webhook and from reconciliation, whichever comes first.

Chosen fields: what a job reads to decide, so a change in any of them may change what it does.
- Orders: `status`; `customer_id` (the customer's delivery policy); `payment_method` and
  `date_paid_gmt` (the payment state, `mapping.payment_state`); the totals; per line its `id`,
  `product_id`, `variation_id`, `quantity`, `subtotal`, `total`, its `_reduced_stock` meta (stock
  seen from the order) and our `backorders_*` meta; the order's `backorders_*` meta (we write
  them on a split and a release; `backorders_delivery` is the merchant's override).
- Products and variations: `manage_stock`, `stock_quantity`, `stock_status` and `backorders`,
  what stock seen from an order and allocation read (`stock.stock_for_order`,
  `WooCommercePlatform.product_stock`).
Left out on purpose, because they change without changing a decision or are the key already:
`date_modified`/`date_modified_gmt` (the key's moment), names, addresses, notes, tax lines,
`cart_hash`, `customer_user_agent`, `_links`, meta ids and display values, and meta of other
plugins (which they may rewrite on every save). The job re-fetches the order anyway; the
fingerprint only decides whether a delivery is worth a job.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from plugin.platforms.woocommerce.stock import LINE_REDUCED_STOCK

OUR_META_PREFIX = "backorders_"  # every meta key we write begins so (mapping.py META_*)

# The top-level order fields the fingerprint reads: what reconciliation asks the store for.
ORDER_FIELDS = (
    "status",
    "customer_id",
    "payment_method",
    "date_paid_gmt",
    "total",
    "total_tax",
    "discount_total",
    "shipping_total",
    "line_items",
    "meta_data",
)
PRODUCT_FIELDS = ("manage_stock", "stock_quantity", "stock_status", "backorders")

# Compact, key-sorted, ASCII JSON: one spelling per value, whichever path parsed it. Built once
# (`json.dumps` with options builds an encoder per call).
_CANONICAL = json.JSONEncoder(ensure_ascii=True, sort_keys=True, separators=(",", ":"))


def order_fingerprint(order: Mapping[str, Any]) -> str:
    """A hash of the chosen fields of an order's REST JSON (module docstring)."""
    # Plain `get`s, not a loop over ORDER_FIELDS: this runs on every order webhook.
    get = order.get
    lines = get("line_items")
    if isinstance(lines, list):
        lines = [_line(item) for item in lines]
    return _digest(
        (
            get("status"),
            get("customer_id"),
            get("payment_method"),
            get("date_paid_gmt"),
            get("total"),
            get("total_tax"),
            get("discount_total"),
            get("shipping_total"),
            lines,
            _meta(get("meta_data"), line=False),
        )
    )


def product_fingerprint(product: Mapping[str, Any]) -> str:
    """A hash of the stock fields of a product's or variation's REST JSON."""
    return _digest(tuple(product.get(name) for name in PRODUCT_FIELDS))


def _line(item: Any) -> Any:
    if not isinstance(item, dict):
        return item  # not WooCommerce's shape; hashed as it is, never an error
    get = item.get
    return (
        get("id"),
        get("product_id"),
        get("variation_id"),
        get("quantity"),
        get("subtotal"),
        get("total"),
        _meta(get("meta_data"), line=True),
    )


def _meta(entries: Any, *, line: bool) -> Any:
    """Our meta entries (and a line's `_reduced_stock`) as (key, value), in the store's order."""
    if not isinstance(entries, list):
        return entries
    kept = []
    for entry in entries:
        if isinstance(entry, dict):
            key = entry.get("key")
            if isinstance(key, str) and (
                key.startswith(OUR_META_PREFIX) or (line and key == LINE_REDUCED_STOCK)
            ):
                kept.append((key, entry.get("value")))
    return kept


def _digest(parts: tuple[Any, ...]) -> str:
    # Raises RecursionError for values nested thousands deep (the webhook answers 400).
    text = _CANONICAL.encode(parts)
    return hashlib.blake2b(text.encode("ascii"), digest_size=16).hexdigest()
