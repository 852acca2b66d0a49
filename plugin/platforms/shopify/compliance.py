"""Shopify's mandatory compliance webhooks and app/uninstalled: what Backorders does with each.

Facts (shopify.dev "Privacy law compliance"; bodies as the sandbox sends them,
sandbox/shopify/rest.py `customer_request`, `shop_redact`):
- `customers/data_request` `{shop_id, shop_domain, customer: {id, email, phone},
  orders_requested: [ids], data_request: {id}}`: the merchant must be given what the app holds
  about the customer.
- `customers/redact` `{shop_id, shop_domain, customer: {id, email, phone}, orders_to_redact}`:
  erase it.
- `shop/redact` `{shop_id, shop_domain}` (48 hours after an uninstall): erase everything about
  the shop.
- `app/uninstalled` (the REST Shop as body; `X-Shopify-Shop-Domain`): the token is revoked.
They arrive at the app's one compliance address for every shop, signed with the app's client
secret, and must be answered 200 (the route verifies and answers; this module parses and acts).

What Backorders holds about a customer: the merchant's delivery condition and priority for them
(`customer_policies`) and the e-mails sent to them (`outbox_messages`). The split and release
ledgers and the audit trail name orders and products, not people, and stay (they keep every
split exactly once); an order's id is not personal data on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from plugin.platforms.shopify.connect import ShopifyConnectError, shop_domain
from plugin.platforms.shopify.webhooks import COMPLIANCE_TOPICS, UNINSTALLED_TOPIC, BadDelivery


@dataclass(frozen=True)
class ComplianceRequest:
    topic: str
    shop: str
    customer_id: str | None = None
    email: str = ""
    order_ids: tuple[str, ...] = ()
    request_id: str | None = None


class PrivacyStore(Protocol):
    """What the compliance topics need of our storage (plugin/adapters/sql/privacy.py)."""

    def stores_for_shop(self, shop: str) -> list[int]:
        """The ids of our stores connected to `shop` (its myshopify name)."""
        ...

    def customer_data(self, store_id: int, customer_id: str, email: str) -> dict[str, Any]:
        """Everything held about one customer of a store, as JSON-ready values."""
        ...

    def erase_customer(self, store_id: int, customer_id: str, email: str) -> int:
        """Delete what is held about one customer; the number of rows deleted."""
        ...

    def erase_store(self, store_id: int) -> int:
        """Delete the store and everything held about it; the number of rows deleted."""
        ...

    def disconnect(self, store_id: int) -> None:
        """Mark the store uninstalled and forget its access token."""
        ...


class Alerts(Protocol):
    def add_alert(
        self, store_id: int, kind: str, message: str, *, order_id: str | None = None
    ) -> object: ...


def parse(topic: str, body: bytes, shop_header: str | None) -> ComplianceRequest:
    """A compliance or uninstall delivery; BadDelivery for anything else."""
    if topic not in COMPLIANCE_TOPICS and topic != UNINSTALLED_TOPIC:
        raise BadDelivery(f"topic {topic!r} is not a compliance topic")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadDelivery("body is not JSON") from None
    if not isinstance(payload, dict):
        raise BadDelivery("payload is not a JSON object")
    named = payload.get("shop_domain") or payload.get("myshopify_domain") or shop_header or ""
    try:
        shop = shop_domain(str(named))
    except ShopifyConnectError:
        raise BadDelivery("no Shopify shop named") from None
    if shop_header is not None and shop_header.strip().lower() != shop:
        raise BadDelivery("the body and X-Shopify-Shop-Domain name different shops")
    if topic in ("customers/data_request", "customers/redact"):
        customer = payload.get("customer")
        if not isinstance(customer, dict) or not _is_id(customer.get("id")):
            raise BadDelivery("customer.id is missing")
        orders_key = "orders_to_redact" if topic == "customers/redact" else "orders_requested"
        orders = payload.get(orders_key) or []
        if not isinstance(orders, list) or not all(_is_id(o) for o in orders):
            raise BadDelivery(f"{orders_key} is not a list of ids")
        request = payload.get("data_request") or {}
        return ComplianceRequest(
            topic,
            shop,
            str(customer["id"]),
            str(customer.get("email") or ""),
            tuple(str(o) for o in orders),
            str(request.get("id")) if isinstance(request, dict) and request.get("id") else None,
        )
    return ComplianceRequest(topic, shop)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def handle(request: ComplianceRequest, privacy: PrivacyStore, alerts: Alerts) -> dict[str, int]:
    """Act on a parsed request for every store of its shop; rows deleted (or customers
    reported) per store id."""
    outcome: dict[str, int] = {}
    for store_id in privacy.stores_for_shop(request.shop):
        if request.topic == "customers/redact":
            assert request.customer_id is not None
            outcome[str(store_id)] = privacy.erase_customer(
                store_id, request.customer_id, request.email
            )
        elif request.topic == "customers/data_request":
            assert request.customer_id is not None
            data = privacy.customer_data(store_id, request.customer_id, request.email)
            alerts.add_alert(
                store_id,
                "customer_data_request",
                f"Shopify asks, for customer {request.customer_id} (data request "
                f"{request.request_id or '-'}), for the data Backorders holds: "
                + json.dumps(data, sort_keys=True, default=str),
            )
            outcome[str(store_id)] = 1
        elif request.topic == "shop/redact":
            outcome[str(store_id)] = privacy.erase_store(store_id)
        else:  # app/uninstalled
            privacy.disconnect(store_id)
            outcome[str(store_id)] = 0
    return outcome
