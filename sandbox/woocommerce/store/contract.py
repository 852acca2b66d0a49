"""WooCommerce facts the sandbox store relies on: statuses, webhook topics, address fields,
and how the REST API writes money and dates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "trash",
    "checkout-draft",
)
# WC_REST_Orders_V2_Controller::get_order_statuses: "auto-draft", then wc_get_order_statuses()
# without "wc-": the enum of an order's `status` in a request (an order is trashed by DELETE).
REST_ORDER_STATUSES = (
    "auto-draft",
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
STATUS_LABELS = {
    "pending": "Pending payment",
    "processing": "Processing",
    "on-hold": "On hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
    "failed": "Failed",
    "trash": "Trash",
    "checkout-draft": "Draft",
}
# class-wc-order.php payment_complete: statuses from which payment completes the order.
PAYMENT_COMPLETE_FROM = ("on-hold", "pending", "failed", "cancelled")
# class-wc-order.php needs_payment: woocommerce_valid_order_statuses_for_payment.
NEEDS_PAYMENT_STATUSES = ("pending", "failed")
# class-wc-order.php is_editable.
EDITABLE_STATUSES = ("pending", "on-hold", "auto-draft", "checkout-draft")
WEBHOOK_STATUSES = ("active", "paused", "disabled")
# class-wc-webhook.php get_topic_hooks (the hooks each core topic is bound to).
TOPIC_HOOKS = {
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
    "customer.created": [
        "user_register",
        "woocommerce_created_customer",
        "woocommerce_new_customer",
    ],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "order.created": ["woocommerce_new_order"],
    "order.updated": [
        "woocommerce_update_order",
        "woocommerce_order_refunded",
        "woocommerce_delete_order_refund",
    ],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": [
        "woocommerce_process_product_meta",
        "woocommerce_new_product",
        "woocommerce_new_product_variation",
    ],
    "product.updated": [
        "woocommerce_process_product_meta",
        "woocommerce_update_product",
        "woocommerce_update_product_variation",
    ],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
    "product.published": ["woocommerce_product_published"],
}
# class-wc-webhook.php is_valid_resource: order webhooks ignore draft orders.
SILENT_ORDER_STATUSES = ("checkout-draft", "auto-draft", "new")
# Reference README / class-wc-webhook.php: more than 5 consecutive failures disable a webhook.
MAX_CONSECUTIVE_FAILURES = 5
ADDRESS_BILLING = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
    "email",
    "phone",
)
ADDRESS_SHIPPING = ADDRESS_BILLING[:9] + ("phone",)
CENT = Decimal("0.01")
# The versions the sandbox reports: an order's `version`, the webhook User-Agent.
WC_VERSION = "9.9.5"
WP_VERSION = "6.9.7"


def money(value: Any) -> Decimal:
    """Parse a WooCommerce decimal string (empty means zero)."""
    if value in (None, ""):
        return Decimal("0")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal: {value!r}") from exc


def fmt(value: Decimal) -> str:
    """wc_format_decimal with 2 decimals, as the REST API formats money."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def parse_iso(value: str) -> datetime | None:
    """Parse an ISO8601 date as the REST API accepts it; naive means UTC."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def json_number(value: Decimal) -> int | float:
    """A JSON number the way PHP prints a computed price (``price`` on line items)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def slugify(text: str) -> str:
    """A product slug from its name (lowercase, dashes), as WordPress sanitize_title does."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "product"


def rest_links(
    site_url: str, path: str, collection: str, extra: Mapping[str, str]
) -> dict[str, Any]:
    """The ``_links`` object WordPress adds to a REST response of the site at ``site_url``."""
    base = site_url.rstrip("/") + "/wp-json/wc/v3"
    links: dict[str, Any] = {
        "self": [{"href": f"{base}/{path}"}],
        "collection": [{"href": f"{base}/{collection}"}],
    }
    for rel, href in extra.items():
        links[rel] = [{"href": f"{base}/{href}"}]
    return links
