"""The sandbox store: products, orders, customers, notes and webhooks with WooCommerce semantics.

``Store`` is composed of one part per job, each in its own module:

- ``contract``: WooCommerce facts (statuses, webhook topics, address fields, money/date formats)
- ``db``: in-memory tables written through to SQLite, the write lock and change events
- ``records``: record lookups and derived order facts (needs payment, needs processing)
- ``rendering``: the REST JSON of every resource
- ``products``, ``customers``, ``notes``, ``webhooks``, ``api_keys``: one resource each
- ``orders``: the order lifecycle; ``order_validation`` checks bodies first,
  ``order_stock`` moves stock (the stock rules themselves are ``sandbox/woocommerce/stock.py``)

Listing helpers for the storefront and admin (besides the REST representations):
``list_products(...)``, ``list_variations(product_id)``, ``list_orders(...)``,
``list_customers(...)``, ``list_webhooks(...)``, ``product_record(id)`` (internal record),
``order_notes(order_id)``.
"""

from __future__ import annotations

from sandbox.woocommerce.store.api_keys import ApiKeys
from sandbox.woocommerce.store.contract import (
    ADDRESS_BILLING,
    ADDRESS_SHIPPING,
    CENT,
    EDITABLE_STATUSES,
    MAX_CONSECUTIVE_FAILURES,
    NEEDS_PAYMENT_STATUSES,
    ORDER_STATUSES,
    PAYMENT_COMPLETE_FROM,
    REST_ORDER_STATUSES,
    SILENT_ORDER_STATUSES,
    STATUS_LABELS,
    TOPIC_HOOKS,
    WC_VERSION,
    WEBHOOK_STATUSES,
    fmt,
    money,
    parse_iso,
    rest_links,
)
from sandbox.woocommerce.store.customers import Customers
from sandbox.woocommerce.store.db import Listener
from sandbox.woocommerce.store.orders import Orders
from sandbox.woocommerce.store.webhooks import Webhooks

__all__ = [
    "ADDRESS_BILLING",
    "ADDRESS_SHIPPING",
    "CENT",
    "EDITABLE_STATUSES",
    "MAX_CONSECUTIVE_FAILURES",
    "NEEDS_PAYMENT_STATUSES",
    "ORDER_STATUSES",
    "PAYMENT_COMPLETE_FROM",
    "REST_ORDER_STATUSES",
    "SILENT_ORDER_STATUSES",
    "STATUS_LABELS",
    "TOPIC_HOOKS",
    "WC_VERSION",
    "WEBHOOK_STATUSES",
    "Listener",
    "Store",
    "fmt",
    "money",
    "parse_iso",
    "rest_links",
]


class Store(Orders, Customers, Webhooks, ApiKeys):
    """A WooCommerce-like store; see the module docstring for the helpers it offers."""
