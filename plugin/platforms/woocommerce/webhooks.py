"""WooCommerce's webhook deliveries: the ping, the signature, the topic and the payload.

The route (`webhooks/receive.py`, `/webhooks/woocommerce/<store id>`) runs the guards; this
module knows how a WooCommerce store delivers (../shared/reference/woocommerce/README.md, "How a
WooCommerce store delivers webhooks"):

- A new webhook is pinged with an unsigned form post `webhook_id=N`, and saved as active only
  if the answer is 200.
- The signature is base64(HMAC-SHA256(secret, raw body)) in `X-WC-Webhook-Signature`
  (signature.py), the topic is in `X-WC-Webhook-Topic`.
- The payload of the topics we subscribe to is the resource as `GET /<resource>s/<id>` returns
  it, so `id`, `date_modified_gmt` and the fingerprint of its content identify its state. Not
  `X-WC-Webhook-Delivery-ID`: a store derives it from the webhook id and the current second
  (class-wc-webhook.php `WC_Webhook::get_new_delivery_id`), so two different deliveries of one
  webhook within a second carry the same one.

`TOPICS` is the one list of the topics we subscribe to (connect.py registers exactly these) and
the neutral topic each becomes; `IGNORED_TOPICS` are topics a store may send that need no work
(answered 204 and logged): `order.deleted` carries only {"id": N}; a new product has no
backorders yet; restored and deleted resources do not change a split; reconciliation still sees
every order change.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

from marshmallow import ValidationError

from plugin.core.model import ProductRef
from plugin.platforms.woocommerce.fingerprint import order_fingerprint, product_fingerprint
from plugin.platforms.woocommerce.mapping import META_ROLE, ROLE_BACKORDER
from plugin.platforms.woocommerce.schemas import ResourceStateSchema, summarise
from plugin.platforms.woocommerce.signature import verify
from plugin.ports import (
    Delivery,
    DeliveryTopic,
    Rejected,
    ResourceState,
    StoreSentError,
    Topic,
    resource_of,
)

SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
WEBHOOK_ID = re.compile(r"[0-9]{1,20}")  # a WordPress post id

TOPICS = {
    "order.created": Topic.ORDER_CREATED,
    "order.updated": Topic.ORDER_UPDATED,
    "product.updated": Topic.PRODUCT_UPDATED,
}
IGNORED_TOPICS = frozenset(
    {"order.deleted", "order.restored", "product.created", "product.deleted", "product.restored"}
)
# The fingerprint of each resource a topic names (the part of the topic before the dot).
FINGERPRINTS = {"order": order_fingerprint, "product": product_fingerprint}

# Built once: a schema instance is reusable and costs far more to construct than to use.
_RESOURCE_STATE = ResourceStateSchema()


class WooCommerceWebhooks:
    """`plugin.ports.Webhooks` for WooCommerce deliveries."""

    def is_ping(self, delivery: Delivery) -> bool:
        """`webhook_id=N`, form-encoded and unsigned: the store checking a new webhook's URL."""
        if delivery.header(SIGNATURE_HEADER) is not None:
            return False
        body = delivery.body
        if len(body) > 64:
            return False
        try:
            form = parse_qs(body.decode("ascii"), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return False
        values = form.get("webhook_id", [])
        # ASCII digits over the whole value (`str.isdigit` also takes "²"), as long as an id
        # may be.
        return (
            set(form) == {"webhook_id"}
            and len(values) == 1
            and WEBHOOK_ID.fullmatch(values[0]) is not None
        )

    def verify(self, secret: str, delivery: Delivery) -> bool:
        return verify(secret, delivery.body, delivery.header(SIGNATURE_HEADER))

    def topic(self, delivery: Delivery) -> DeliveryTopic:
        """The delivery's topic; Rejected (400) when it names none."""
        name = (delivery.header(TOPIC_HEADER) or "").strip()
        if not name:
            raise Rejected(400, f"missing {TOPIC_HEADER}")
        return DeliveryTopic(name, TOPICS.get(name), name in IGNORED_TOPICS)

    def parse(self, topic: str, delivery: Delivery) -> ResourceState:
        """The resource id, its `date_modified_gmt` and its content's fingerprint from an order
        or product payload.

        Only `id` and `date_modified_gmt` are validated: the job re-fetches the resource from
        the store and validates that (GUIDE "Re-fetch, then decide"), so a full schema load
        here would only cost time and refuse deliveries for fields nobody reads. The
        fingerprint hashes the few fields a job decides on as they are, whatever their shape.
        """
        try:
            payload: Any = json.loads(delivery.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise Rejected(400, "body is not JSON") from None
        except RecursionError:
            # Arrays or objects nested a few thousand deep exhaust the decoder's stack; no
            # order or product JSON is nested more than a few levels (orders.md, products.md).
            raise Rejected(400, "body is nested too deeply") from None
        except ValueError:
            # A number of more than 4,300 digits: Python refuses to convert it (sys.int_info).
            raise Rejected(400, "body has a number too long to read") from None
        if not isinstance(payload, dict):
            raise Rejected(400, "payload is not a JSON object")
        _raise_store_error(payload)
        try:
            data: dict[str, Any] = _RESOURCE_STATE.load(payload)
        except ValidationError as error:
            raise Rejected(400, summarise(error)) from None
        try:
            fingerprint = FINGERPRINTS[resource_of(topic)](payload)
        except RecursionError:
            raise Rejected(400, "body is nested too deeply") from None
        products = named_products(payload) if resource_of(topic) == "order" else ()
        return ResourceState(str(data["id"]), data["date_modified_gmt"], fingerprint, products)


_ERROR_CODE = re.compile(r"[a-z0-9_]{1,64}")  # WordPress's REST error codes


def _raise_store_error(payload: dict[str, Any]) -> None:
    """StoreSentError for a WordPress REST error in place of the resource: `{"code", "message",
    "data": {"status"}}` and no `id`. WooCommerce 9.9 builds a payload with an internal REST
    read, and during a Store API checkout delivered in the same request that read has no route
    (`rest_no_route`, 404), so the delivery carries the error (README, "Against a real
    WooCommerce store")."""
    code, data = payload.get("code"), payload.get("data")
    if (
        "id" in payload
        or not isinstance(code, str)
        or not isinstance(payload.get("message"), str)
        or not isinstance(data, dict)
        or _ERROR_CODE.fullmatch(code) is None
    ):
        return
    status = data.get("status")
    valid_status = isinstance(status, int) and not isinstance(status, bool) and 0 < status < 1000
    raise StoreSentError(code, status if valid_status else None)


# More lines than one `include=` read takes (client.py MAX_PER_PAGE): the job reads the order
# first, as it would without a delivery.
MAX_NAMED_PRODUCTS = 100
_ID = re.compile(r"[1-9][0-9]{0,19}")  # a WordPress post id, as JSON number or text


def named_products(order: dict[str, Any]) -> tuple[ProductRef, ...]:
    """The products and variations an order payload's `line_items` name, in line order (the
    order as `GET /orders/<id>` returns it, orders.md): what the job may read with the order.
    A line without a product (deleted since) names none; a payload whose lines are not
    WooCommerce's shape, or has more than `MAX_NAMED_PRODUCTS`, names none at all, never
    refused: the job reads the order and then its products, as without this hint."""
    lines = order.get("line_items")
    if not isinstance(lines, list) or _is_our_backorder_order(order):
        return ()
    refs: dict[ProductRef, None] = {}
    for line in lines:
        if not isinstance(line, dict):
            return ()
        product = _post_id(line.get("product_id"))
        variation = _post_id(line.get("variation_id"))
        if product is None or variation is None:
            return ()
        if product:
            refs[ProductRef(product, variation or None)] = None
    return tuple(refs) if len(refs) <= MAX_NAMED_PRODUCTS else ()


def _is_our_backorder_order(order: dict[str, Any]) -> bool:
    """A backorder order we created (its role meta, mapping.py): its job only reads the order
    and ignores it, so its stock is not worth a read."""
    meta = order.get("meta_data")
    if not isinstance(meta, list):
        return False
    return any(
        isinstance(entry, dict)
        and entry.get("key") == META_ROLE
        and entry.get("value") == ROLE_BACKORDER
        for entry in meta
    )


def _post_id(value: Any) -> str | None:
    """A post id as text ("" for 0 or absent: no product), None when it is none."""
    if value is None or value == 0 or value == "0":
        return ""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value)
    return text if _ID.fullmatch(text) else None
