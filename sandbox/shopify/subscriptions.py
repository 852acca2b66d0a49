"""Webhook subscriptions of an app (``webhookSubscriptionCreate``/``Update``/``Delete``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sandbox.shopify import schema
from sandbox.shopify.shop import Shop
from sandbox.shopify.user_errors import refuse


def topic_name(enum_value: str) -> str:
    """``ORDERS_CREATE`` -> ``orders/create``, ``INVENTORY_LEVELS_UPDATE`` ->
    ``inventory_levels/update`` (the X-Shopify-Topic form)."""
    lower = enum_value.lower()
    for resource in _MULTI_WORD:  # resources whose own name has "_"; longest first
        if lower.startswith(resource + "_"):
            return resource + "/" + lower[len(resource) + 1 :]
    resource, _, event = lower.partition("_")
    return f"{resource}/{event}"


_MULTI_WORD = (
    "inventory_levels",
    "inventory_items",
    "fulfillment_orders",
    "fulfillment_events",
    "fulfillment_holds",
    "order_transactions",
    "draft_orders",
    "customer_groups",
    "customer_payment_methods",
    "product_listings",
    "app_subscriptions",
    "app_purchases_one_time",
    "app",
    "customers_email_marketing_consent",
    "customers_marketing_consent",
    "customer_tags",
    "selling_plan_groups",
    "subscription_contracts",
    "subscription_billing_attempts",
    "tender_transactions",
)


def _check_url(url: str | None) -> str:
    if not url:
        raise refuse(["webhookSubscription", "callbackUrl"], "Address can't be blank")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refuse(["webhookSubscription", "callbackUrl"], "Address is invalid")
    return url


def create(shop: Shop, app_id: str, topic: str, data: dict[str, Any]) -> dict[str, Any]:
    """A new subscription of `app_id` to `topic` (enum value)."""
    url = _check_url(data.get("callbackUrl"))
    if data.get("format") == "XML":
        raise refuse(["webhookSubscription", "format"], "The sandbox only sends JSON webhooks")
    for existing in of_app(shop, app_id):
        if existing["topic"] == topic and existing["_callback_url"] == url:
            raise refuse(
                ["webhookSubscription", "callbackUrl"],
                "Address for this topic has already been taken",
            )
    now = shop.now_iso()
    return shop.add(
        {
            "__typename": "WebhookSubscription",
            "id": shop.new_gid("WebhookSubscription"),
            "topic": topic,
            "format": "JSON",
            "includeFields": list(data.get("includeFields") or []),
            "metafieldNamespaces": list(data.get("metafieldNamespaces") or []),
            "filter": data.get("filter"),
            "createdAt": now,
            "updatedAt": now,
            "_callback_url": url,
            "_app": app_id,
            "_api_version": schema.API_VERSION,
        }
    )


def update(shop: Shop, app_id: str, subscription_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Change a subscription's address, fields or filter."""
    subscription = shop.get(subscription_id, "WebhookSubscription")
    if subscription is None or subscription["_app"] != app_id:
        raise refuse(["id"], "Webhook subscription does not exist")
    if "callbackUrl" in data:
        subscription["_callback_url"] = _check_url(data["callbackUrl"])
    for key in ("includeFields", "metafieldNamespaces"):
        if data.get(key) is not None:
            subscription[key] = list(data[key])
    if "filter" in data:
        subscription["filter"] = data["filter"]
    subscription["updatedAt"] = shop.now_iso()
    return subscription


def delete(shop: Shop, app_id: str, subscription_id: str) -> str:
    """Remove a subscription; its gid."""
    subscription = shop.get(subscription_id, "WebhookSubscription")
    if subscription is None or subscription["_app"] != app_id:
        raise refuse(["id"], "Webhook subscription does not exist")
    del shop.table("webhooks")[subscription_id]
    return subscription_id


def of_app(shop: Shop, app_id: str) -> list[dict[str, Any]]:
    """The app's subscriptions, oldest first."""
    return [s for s in shop.table("webhooks").values() if s["_app"] == app_id]


def for_topic(shop: Shop, topic: str) -> list[dict[str, Any]]:
    """Every subscription (of any app) to a header-form topic (``orders/create``)."""
    return [s for s in shop.table("webhooks").values() if topic_name(s["topic"]) == topic]
