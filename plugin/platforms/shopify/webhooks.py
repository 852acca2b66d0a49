"""Shopify's webhook deliveries: the signature, the topic, the payload and the event id.

How Shopify delivers (shopify.dev/docs/apps/build/webhooks, "Deliver webhooks through HTTPS" and
"Verify webhooks"; the sandbox's sandbox/shopify/webhooks.py does the same):

- The body is the resource in its Admin REST shape (../shared/reference/shopify/
  rest-fixture-order.json, rest-fixture-inventory_level.json, rest-fixture-product.json).
- `X-Shopify-Hmac-Sha256` is base64(HMAC-SHA256(app client secret, raw body)); the official
  known answer is in ../shared/reference/signature-vectors.json.
- `X-Shopify-Topic` names the topic (`orders/create`), `X-Shopify-Shop-Domain` the shop,
  `X-Shopify-Event-Id` the event (the same on every retry and duplicate of it) and
  `X-Shopify-Webhook-Id` one delivery attempt.
- A delivery not answered 2xx within 5 s is retried (8 times over 4 hours), so one event may
  arrive many times.

The inbox keeps one event per resource state (id, `updated_at`, fingerprint): every retry of an
event carries the same body, so it is the same state and one inbox row. The event id is the
delivery's dedupe key where a topic has no resource state (the compliance topics).

Stock in Shopify belongs to inventory items (one per variant) at locations, and
`inventory_levels/update` names only the inventory item. The core's product of a Shopify line is
its product and its "variant" the variant's inventory item (mapping.py), so an
`inventory_levels/update` is a product event for that inventory item, which the allocation job
resolves to its product from the split plans (`SqlReleaseLedger.parent_product`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from plugin.ports import Delivery, DeliveryTopic, Rejected, ResourceState, Topic

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
SHOP_HEADER = "X-Shopify-Shop-Domain"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"

# Topics we subscribe to (connect.py registers exactly these, in GraphQL's enum spelling
# `ORDERS_CREATE`) and the neutral topic each becomes.
TOPICS: Mapping[str, Topic] = {
    "orders/create": Topic.ORDER_CREATED,
    "orders/updated": Topic.ORDER_UPDATED,
    "orders/paid": Topic.ORDER_UPDATED,
    "orders/cancelled": Topic.ORDER_UPDATED,
    "inventory_levels/update": Topic.PRODUCT_UPDATED,
    "products/update": Topic.PRODUCT_UPDATED,
}
# Delivered to every app whether it subscribes or not (shopify.dev "Privacy law compliance"),
# and app/uninstalled, which we subscribe to: they are answered and handled (compliance.py), not
# put in the inbox.
COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
UNINSTALLED_TOPIC = "app/uninstalled"
SUBSCRIBED_TOPICS = (*TOPICS, UNINSTALLED_TOPIC)

MAX_BODY = 2 * 1024 * 1024


class BadDelivery(ValueError):
    """A delivery that is not what Shopify sends: answered 400, nothing recorded."""


@dataclass(frozen=True)
class ShopifyEvent:
    """One resource state a delivery reports (the inbox's key) and the delivery's event id."""

    topic: Topic
    resource_id: str
    modified_gmt: dt.datetime
    fingerprint: str
    event_id: str | None


def sign(secret: str, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, body)), as `X-Shopify-Hmac-Sha256` carries it."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """True when `signature` is the body's HMAC with `secret`; constant time, never raises."""
    if not secret or not signature:
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(given, expected)


def event_id(header: Callable[[str], str | None]) -> str | None:
    """The event id of a delivery (`X-Shopify-Event-Id`, else its `X-Shopify-Webhook-Id`)."""
    for name in (EVENT_ID_HEADER, WEBHOOK_ID_HEADER):
        value = (header(name) or "").strip()
        if value:
            return value[:200]
    return None


def parse(topic: str, body: bytes, header: Callable[[str], str | None]) -> ShopifyEvent:
    """The resource state an `orders/*`, `inventory_levels/update` or `products/update`
    delivery reports; BadDelivery for anything else or a body that is not that resource."""
    neutral = TOPICS.get(topic)
    if neutral is None:
        raise BadDelivery(f"topic {topic!r} is not one we subscribe to")
    payload = _object(body)
    if topic == "inventory_levels/update":
        resource_id = _id(payload, "inventory_item_id")
        fingerprint = _digest(
            [resource_id, _id(payload, "location_id"), _int(payload, "available")]
        )
    elif topic == "products/update":
        resource_id = _id(payload, "id")
        variants = payload.get("variants") or []
        if not isinstance(variants, list):
            raise BadDelivery("variants is not a list")
        fingerprint = _digest(
            [
                resource_id,
                sorted(
                    [str(v.get("inventory_item_id")), str(v.get("inventory_policy"))]
                    for v in variants
                    if isinstance(v, dict)
                ),
            ]
        )
    else:
        resource_id = _id(payload, "id")
        fingerprint = order_fingerprint(
            financial_status=payload.get("financial_status"),
            cancelled=payload.get("cancelled_at") is not None,
            closed=payload.get("closed_at") is not None,
            lines=[
                (str(line.get("id")), line.get("quantity"))
                for line in _list(payload, "line_items")
                if isinstance(line, dict)
            ],
        )
    return ShopifyEvent(
        neutral, resource_id, _time(payload, "updated_at"), fingerprint, event_id(header)
    )


def order_fingerprint(
    *,
    financial_status: Any,
    cancelled: bool,
    closed: bool,
    lines: list[tuple[str, Any]],
) -> str:
    """What a job decides an order on, hashed: its payment state, whether it is cancelled or
    closed and its lines. Webhook bodies (REST) and reconciliation (GraphQL) give the same one
    for one state: REST's `financial_status` is GraphQL's `displayFinancialStatus` in lower
    case (`authorized` / `AUTHORIZED`)."""
    return _digest(
        [
            str(financial_status or "").lower(),
            cancelled,
            closed,
            sorted([line_id, int(quantity or 0)] for line_id, quantity in lines),
        ]
    )


def _digest(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _object(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY:
        raise BadDelivery("body is too large")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadDelivery("body is not JSON") from None
    except RecursionError:
        raise BadDelivery("body is nested too deeply") from None
    except ValueError:
        raise BadDelivery("body has a number too long to read") from None
    if not isinstance(payload, dict):
        raise BadDelivery("payload is not a JSON object")
    return payload


def _id(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise BadDelivery(f"{name} is not a positive integer")
    return str(value)


def _int(payload: Mapping[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if value is None:
        return None  # an item not tracked at that location has no `available`
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadDelivery(f"{name} is not an integer")
    return value


def _list(payload: Mapping[str, Any], name: str) -> list[Any]:
    value = payload.get(name) or []
    if not isinstance(value, list):
        raise BadDelivery(f"{name} is not a list")
    return value


def _time(payload: Mapping[str, Any], name: str) -> dt.datetime:
    value = payload.get(name)
    if not isinstance(value, str):
        raise BadDelivery(f"{name} is missing")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadDelivery(f"{name} is not a date-time") from None
    if moment.tzinfo is None:
        raise BadDelivery(f"{name} has no offset")
    return moment.astimezone(dt.UTC)


class ShopifyWebhooks:
    """`plugin.ports.Webhooks` for Shopify deliveries to `/webhooks/shopify/<store id>`."""

    def is_ping(self, delivery: Delivery) -> bool:
        """Shopify does not ping a new subscription."""
        return False

    def verify(self, secret: str, delivery: Delivery) -> bool:
        return verify(secret, delivery.body, delivery.header(HMAC_HEADER))

    def topic(self, delivery: Delivery) -> DeliveryTopic:
        """The delivery's topic; Rejected (400) when it names none. The compliance topics have
        no inbox event (they go to the app-wide route, webhooks/shopify_app.py); `app/uninstalled`
        names its shop, which the route disconnects (Rejected 400 for a body naming none)."""
        name = (delivery.header(TOPIC_HEADER) or "").strip()
        if not name:
            raise Rejected(400, f"missing {TOPIC_HEADER}")
        if name == UNINSTALLED_TOPIC:
            from plugin.platforms.shopify import compliance  # it imports this module

            try:
                request = compliance.parse(name, delivery.body, delivery.header(SHOP_HEADER))
            except BadDelivery as error:
                raise Rejected(400, str(error)) from None
            return DeliveryTopic(name, None, False, uninstalled_from=request.shop)
        return DeliveryTopic(name, TOPICS.get(name), name in COMPLIANCE_TOPICS)

    def parse(self, topic: str, delivery: Delivery) -> ResourceState:
        """The resource state the delivery reports; Rejected (400) for a bad payload."""
        name = (delivery.header(TOPIC_HEADER) or "").strip()
        try:
            event = parse(name, delivery.body, delivery.header)
        except BadDelivery as error:
            raise Rejected(400, str(error)) from None
        return ResourceState(event.resource_id, event.modified_gmt, event.fingerprint)
